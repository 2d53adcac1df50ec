//! The gateway's own pages: plain HTML that says what went wrong, every value escaped.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use quick_xml::escape::escape;

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
