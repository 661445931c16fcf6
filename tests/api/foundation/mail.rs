use guildhall::email::{MailSender, OutgoingEmail};

use crate::support::smtp::SmtpSink;
use crate::support::test_settings;

fn email() -> OutgoingEmail {
    OutgoingEmail {
        to: "ada@acme.test".to_owned(),
        subject: "You are invited to Acme".to_owned(),
        text: "Join Acme: http://127.0.0.1/invitations/abc".to_owned(),
        html: "<p>Join <strong>Acme</strong></p>".to_owned(),
    }
}

#[tokio::test]
async fn a_message_goes_over_smtp_with_both_parts() {
    let sink = SmtpSink::start().await;
    let mut settings = test_settings(String::new());
    settings.smtp_url = Some(sink.url());
    let sender = MailSender::from_settings(&settings).expect("mailer");

    sender.send(&email()).await.expect("send");

    let mails = sink.wait_for(1).await;
    assert_eq!(mails[0].from, "no-reply@guildhall.test");
    assert_eq!(mails[0].to, vec!["ada@acme.test".to_owned()]);
    let data = &mails[0].data;
    assert!(data.contains("Subject: You are invited to Acme"), "{data}");
    assert!(
        data.contains("Content-Type: text/plain") && data.contains("Content-Type: text/html"),
        "{data}"
    );
    assert!(
        data.contains("Join Acme: http://127.0.0.1/invitations/abc"),
        "{data}"
    );
}

#[tokio::test]
async fn a_dead_smtp_server_is_an_error_not_a_hang() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let mut settings = test_settings(String::new());
    settings.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
    let sender = MailSender::from_settings(&settings).expect("mailer");
    assert!(sender.send(&email()).await.is_err());
}

#[tokio::test]
async fn without_smtp_the_message_is_written_to_a_file() {
    let settings = test_settings(String::new());
    let sender = MailSender::from_settings(&settings).expect("mailer");
    sender.send(&email()).await.expect("send");
    let files: Vec<_> = std::fs::read_dir(&settings.mail_dir)
        .expect("mail dir")
        .flatten()
        .collect();
    assert_eq!(files.len(), 1);
    let content = std::fs::read_to_string(files[0].path()).expect("read");
    assert!(content.contains("Subject: You are invited to Acme"));
    std::fs::remove_dir_all(&settings.mail_dir).expect("clean up");
}
