//! Reading `Accept`-style request headers (`Accept`, `Accept-Encoding`): RFC 9110's lists of
//! items with optional parameters, where `q=0` refuses an item.

/// The items of one header value that are not refused with `q=0`, lower-cased, without their
/// parameters: `"text/html;q=0, Application/JSON"` gives `application/json`.
pub fn accepted(value: &str) -> impl Iterator<Item = String> + '_ {
    value.split(',').filter_map(|item| {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let refused = parts.any(|param| {
            let param = param.trim().to_ascii_lowercase().replace(' ', "");
            param == "q=0" || param.starts_with("q=0.") && param[4..].bytes().all(|b| b == b'0')
        });
        (!refused && !name.is_empty()).then_some(name)
    })
}

#[cfg(test)]
mod tests {
    use super::accepted;

    #[test]
    fn items_refused_with_a_zero_quality_are_left_out() {
        let items: Vec<String> =
            accepted("text/html;q=0, Application/JSON ; q=0.5, gzip;Q=0.000, br; q = 0.001")
                .collect();
        assert_eq!(items, ["application/json", "br"]);
        assert_eq!(accepted("").count(), 0);
    }
}
