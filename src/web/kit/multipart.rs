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

fn find_in(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn param(disposition: &str, key: &str) -> Option<String> {
    let marker = format!("{key}=\"");
    let start = disposition.find(&marker)? + marker.len();
    disposition[start..].split('"').next().map(str::to_owned)
}

/// Splits a body into its parts; malformed parts are skipped.
pub fn parts<'a>(body: &'a [u8], boundary: &str) -> Vec<Part<'a>> {
    Parts::new(body, boundary).collect()
}

/// The first part with this name, reading no further than it (the CSRF check finds the token
/// at the start of a large upload without splitting the file).
pub fn find<'a>(body: &'a [u8], boundary: &str, name: &str) -> Option<Part<'a>> {
    Parts::new(body, boundary).find(|part| part.name == name)
}

/// The parts of a body, one at a time.
struct Parts<'a> {
    rest: &'a [u8],
    next_delimiter: String,
}

impl<'a> Parts<'a> {
    fn new(body: &'a [u8], boundary: &str) -> Parts<'a> {
        let delimiter = format!("--{boundary}");
        let rest = find_in(body, delimiter.as_bytes()).map_or(&body[body.len()..], |first| {
            &body[first + delimiter.len()..]
        });
        Parts {
            rest,
            next_delimiter: format!("\r\n--{boundary}"),
        }
    }
}

impl<'a> Iterator for Parts<'a> {
    type Item = Part<'a>;

    fn next(&mut self) -> Option<Part<'a>> {
        while let Some(after_break) = self.rest.strip_prefix(b"\r\n") {
            let headers_end = find_in(after_break, b"\r\n\r\n")?;
            let headers = String::from_utf8_lossy(&after_break[..headers_end]);
            let content = &after_break[headers_end + 4..];
            let end = find_in(content, self.next_delimiter.as_bytes())?;
            self.rest = &content[end + self.next_delimiter.len()..];
            let name_and_file = headers
                .lines()
                .find(|l| l.to_ascii_lowercase().starts_with("content-disposition"))
                .and_then(|d| Some((param(d, "name")?, param(d, "filename"))));
            if let Some((name, filename)) = name_and_file {
                return Some(Part {
                    name,
                    filename,
                    data: &content[..end],
                });
            }
        }
        None
    }
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
        let token = find(body, "XyZ", "csrf_token").expect("the token part");
        assert_eq!(token.data, b"abc123");
        assert!(find(body, "XyZ", "missing").is_none());
    }
}
