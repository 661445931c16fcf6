//! A small reader for `multipart/form-data` bodies (one file upload and a few text fields).

pub struct Part<'a> {
    pub name: String,
    pub filename: Option<String>,
    pub data: &'a [u8],
}

/// The boundary of a `multipart/form-data` content type.
pub fn boundary(content_type: &str) -> Option<String> {
    if !content_type.starts_with("multipart/form-data") {
        return None;
    }
    content_type
        .split(';')
        .find_map(|param| param.trim().strip_prefix("boundary="))
        .map(|b| b.trim_matches('"').to_owned())
        .filter(|b| !b.is_empty())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn param(disposition: &str, key: &str) -> Option<String> {
    let marker = format!("{key}=\"");
    let start = disposition.find(&marker)? + marker.len();
    disposition[start..].split('"').next().map(str::to_owned)
}

/// Splits a body into its parts; malformed parts are skipped.
pub fn parts<'a>(body: &'a [u8], boundary: &str) -> Vec<Part<'a>> {
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let Some(first) = find(body, delimiter.as_bytes()) else {
        return parts;
    };
    let mut rest = &body[first + delimiter.len()..];
    let next_delimiter = format!("\r\n--{boundary}");
    while rest.starts_with(b"\r\n") {
        rest = &rest[2..];
        let Some(headers_end) = find(rest, b"\r\n\r\n") else {
            break;
        };
        let headers = String::from_utf8_lossy(&rest[..headers_end]);
        let content = &rest[headers_end + 4..];
        let Some(end) = find(content, next_delimiter.as_bytes()) else {
            break;
        };
        if let Some(disposition) = headers
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition"))
            && let Some(name) = param(disposition, "name")
        {
            parts.push(Part {
                name,
                filename: param(disposition, "filename"),
                data: &content[..end],
            });
        }
        rest = &content[end + next_delimiter.len()..];
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_and_files() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\nabc123\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\nContent-Type: text/csv\r\n\r\nx,y\r\n1,2\r\n--XyZ--\r\n";
        let parts = parts(body, "XyZ");
        assert_eq!(parts.len(), 2);
        assert_eq!(
            (parts[0].name.as_str(), parts[0].data),
            ("csrf_token", &b"abc123"[..])
        );
        assert_eq!(parts[1].filename.as_deref(), Some("a.csv"));
        assert_eq!(parts[1].data, b"x,y\r\n1,2");
        assert_eq!(
            boundary("multipart/form-data; boundary=\"XyZ\""),
            Some("XyZ".to_owned())
        );
        assert_eq!(boundary("text/plain"), None);
    }
}
