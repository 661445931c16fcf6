//! Upload Sales File: whole-file validation, line numbers, idempotency, scale.

use crate::support::{TestApp, TestResponse, spawn_app};

const HEADER: &str = "organization,kind,tokens,amount,currency,date,reference\n";

/// Posts a file the way a browser's multipart form does.
async fn upload(app: &TestApp, file: &[u8], htmx: bool) -> TestResponse {
    let token = app.csrf_token();
    let boundary = "----guildhallTestBoundary7MA4YWxkTrZu0gW";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n"
    )
    .into_bytes();
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"sales.csv\"\r\nContent-Type: text/csv\r\n\r\n").as_bytes());
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let mut request = app
        .client
        .post(app.url("/admin/sales-import"))
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body);
    if htmx {
        request = request.header("HX-Request", "true");
    }
    app.send(request).await
}

async fn console() -> TestApp {
    let app = spawn_app().await;
    let root = app.super_admin().await;
    for name in ["Acme", "Globex"] {
        app.org(name).create().await;
    }
    app.login(&root).await;
    app
}

#[tokio::test]
async fn a_valid_file_imports_once_by_id_or_domain() {
    let app = console().await;
    let acme = app
        .number("SELECT id FROM organizations WHERE name = 'Acme'")
        .await;
    let file = format!(
        "{HEADER}{acme},inference,1000000,1250.00,EUR,2026-10-01,S-1\nGLOBEX.test,embedding,5000,10,usd,2026-10-02,S-2\n\"{acme}\",inference,\"2,000\",\"1,000.50\",EUR,2026-10-03,S-3\n"
    );

    let response = upload(&app, file.as_bytes(), true).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.html().texts("#sales-result .alert-success p"),
        [
            "3 lines read: 3 purchases imported for 2 organizations, 0 already imported before.",
            "New tokens: 1,002,000 inference, 5,000 embedding."
        ]
    );
    assert_eq!(
        app.number(&format!(
            "SELECT inference_purchased FROM organizations WHERE id = {acme}"
        ))
        .await,
        1_002_000
    );
    assert_eq!(
        app.number("SELECT embedding_purchased FROM organizations WHERE name = 'Globex'")
            .await,
        5000
    );

    let again = upload(&app, file.as_bytes(), true).await;
    assert_eq!(
        again.html().texts("#sales-result .alert-success p")[0],
        "3 lines read: 0 purchases imported for 0 organizations, 3 already imported before."
    );
    assert_eq!(app.number("SELECT count(*) FROM token_purchases").await, 3);
    // Only the upload that changed something is in the audit log.
    assert_eq!(
        app.number("SELECT count(*) FROM audit_log WHERE action = 'sales_file.imported'")
            .await,
        1
    );
}

#[tokio::test]
async fn one_bad_line_imports_nothing_and_every_problem_has_its_line() {
    let app = console().await;
    let file = format!(
        "{HEADER}acme.test,inference,1000,1,EUR,2026-10-01,S-1\nnowhere.test,inference,1000,1,EUR,2026-10-01,S-2\nacme.test,gold,-3,1,EURO,yesterday,S-3\nacme.test,inference,1000\nacme.test,inference,1000,1,EUR,2026-10-01,S-1\nacme.test,inference,9999,1,EUR,2026-10-01,S-1\n"
    );
    let response = upload(&app, file.as_bytes(), false).await;
    assert_eq!(response.status(), 422);
    let page = response.html();
    assert_eq!(page.text("#sales-result h2"), "Nothing was imported");
    // (line, problem) of each row of the problems table.
    let problems: Vec<(String, String)> = page
        .rows("#sales-result table.problems")
        .into_iter()
        .map(|row| (row[0].clone(), row[2].clone()))
        .collect();
    let mut lines: Vec<&str> = problems.iter().map(|(line, _)| line.as_str()).collect();
    lines.dedup();
    assert_eq!(
        lines,
        ["3", "4", "5", "7"],
        "an identical repeated line (6) is not an error: {problems:?}"
    );
    for (line, expected) in [
        ("3", "No organization has this id or domain."),
        ("4", "kind: Choose inference or embedding."),
        ("4", "currency: Enter an ISO 4217"),
        ("4", "date: Enter a date as YYYY-MM-DD."),
        ("5", "Expected 7 values, found 3."),
        (
            "7",
            "line 2 uses the same reference for a different purchase",
        ),
    ] {
        assert!(
            problems
                .iter()
                .any(|(l, problem)| l == line && problem.contains(expected)),
            "line {line}: {expected} in {problems:?}"
        );
    }
    assert_eq!(app.number("SELECT count(*) FROM token_purchases").await, 0);
}

#[tokio::test]
async fn wrong_columns_encodings_or_references_are_refused() {
    let app = console().await;
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"org,kind,tokens\nacme.test,inference,5\n".to_vec(), "The first line must be exactly: organization,kind,tokens,amount,currency,date,reference"),
        (b"organization,kind,tokens,amount,currency,date,reference\nacme.test,inference,5,1,EUR,2026-01-01,\xff\xfe\n".to_vec(), "not UTF-8"),
        (HEADER.as_bytes().to_vec(), "a header but no purchases"),
        (Vec::new(), "The file is empty."),
    ];
    for (file, message) in cases {
        let response = upload(&app, &file, true).await;
        assert_eq!(response.status(), 422, "{message}");
        let alert = response.html().text("#sales-result .alert-error");
        assert!(alert.contains(message), "{message}: {alert}");
    }
    // A reference already recorded for another purchase.
    upload(
        &app,
        format!("{HEADER}acme.test,inference,1000,1,EUR,2026-10-01,S-1\n").as_bytes(),
        true,
    )
    .await;
    let response = upload(
        &app,
        format!("{HEADER}globex.test,inference,1000,1,EUR,2026-10-01,S-1\n").as_bytes(),
        true,
    )
    .await;
    assert_eq!(response.status(), 422);
    let problems = response.html().rows("#sales-result table.problems");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0][0] == "2"
            && problems[0][2].contains("already recorded for a different purchase"),
        "{problems:?}"
    );
    assert_eq!(app.number("SELECT count(*) FROM token_purchases").await, 1);
}

#[tokio::test]
async fn fifty_thousand_lines_import_in_one_request() {
    let app = console().await;
    let mut file = String::from(HEADER);
    for line in 0..50_000 {
        let org = if line % 2 == 0 {
            "acme.test"
        } else {
            "globex.test"
        };
        file.push_str(&format!(
            "{org},inference,{},{}.00,EUR,2026-10-01,BULK-{line}\n",
            1000 + line,
            line % 500
        ));
    }
    let started = std::time::Instant::now();
    let response = upload(&app, file.as_bytes(), true).await;
    let elapsed = started.elapsed();
    assert_eq!(response.status(), 200);
    assert!(
        response
            .text()
            .contains("50,000 purchases imported for 2 organizations")
    );
    assert_eq!(
        app.number("SELECT count(*) FROM token_purchases").await,
        50_000
    );
    let expected: i64 = (0..50_000).map(|line| 1000 + line).sum();
    assert_eq!(
        app.number("SELECT sum(inference_purchased) FROM organizations")
            .await,
        expected
    );
    eprintln!("50,000-line import took {elapsed:?} (debug build)");
}

#[tokio::test]
async fn a_sales_file_above_its_limits_is_refused_with_them() {
    let app =
        crate::support::spawn_app_with(|settings| settings.body_limits.upload_lines = 10).await;
    let root = app.super_admin().await;
    app.login(&root).await;
    let too_big = upload(&app, &vec![b'a'; 11 * 1024 * 1024], false).await;
    assert_eq!(too_big.status(), 413);
    assert!(too_big.text().contains("10 MiB"), "{}", too_big.text());

    let mut lines = String::from("organization,kind,tokens,amount,currency,date,reference\n");
    for n in 0..11 {
        lines.push_str(&format!("1,inference,1000,1.00,EUR,2026-10-01,REF-{n}\n"));
    }
    let too_long = upload(&app, lines.as_bytes(), false).await;
    assert_eq!(too_long.status(), 422);
    assert!(
        too_long.text().contains("at most 10 purchases"),
        "{}",
        too_long.text()
    );
    assert_eq!(app.number("SELECT count(*) FROM token_purchases").await, 0);
}
