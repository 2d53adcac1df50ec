//! The gateway's own pages: plain HTML that says what went wrong, every value escaped.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// `text` fit for HTML text and attribute values: nothing in it opens a tag or leaves an
/// attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A page titled `title` whose paragraphs are `lines` (plain text, escaped here).
pub fn page(status: StatusCode, title: &str, lines: &[String]) -> Response {
    let mut html =
        String::from("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"UTF-8\">\n<title>");
    html.push_str(&escape(title));
    html.push_str("</title>\n</head>\n<body>\n<h1>");
    html.push_str(&escape(title));
    html.push_str("</h1>\n");
    for line in lines {
        html.push_str("<p>");
        html.push_str(&escape(line));
        html.push_str("</p>\n");
    }
    html.push_str("</body>\n</html>\n");
    let mut response = (status, html).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=UTF-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            escape(r#"<script>alert("x" & 'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
    }
}
