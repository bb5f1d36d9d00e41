//! Lenient PEM reading and canonical PEM writing.
//!
//! Keys reach us pasted into JSON strings, terminals and CI secrets, so the reader accepts every
//! spelling the seed documents show: LF or CRLF line breaks, no line breaks at all
//! (`-----BEGIN PUBLIC KEY-----MFkw...==-----END PUBLIC KEY-----`), surrounding whitespace, and a
//! JSON-escaped `\n` pasted literally. The writer always produces the one canonical spelling
//! openssl prints: header, base64 in 64-character lines, footer, each ended by `\n`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::error::{Error, ErrorKind};

/// One decoded PEM block: its label (`PUBLIC KEY`, `EC PRIVATE KEY`, ...) and DER contents.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PemBlock {
    /// The label between `-----BEGIN ` and `-----`.
    pub label: String,
    /// The decoded base64 body.
    pub der: Vec<u8>,
}

const BEGIN: &str = "-----BEGIN ";
const END: &str = "-----END ";
const DASHES: &str = "-----";

/// Reads every PEM block in `text`, in order, accepting the lenient spellings described above.
pub fn parse_all(text: &str) -> Result<Vec<PemBlock>, Error> {
    let normalized = normalize(text);
    let mut rest = normalized.as_str();
    let mut blocks = Vec::new();
    while let Some(start) = rest.find(BEGIN) {
        let after_begin = &rest[start + BEGIN.len()..];
        let label_end = after_begin.find(DASHES).ok_or_else(|| {
            Error::new(ErrorKind::NotPem(
                "a BEGIN line without its closing dashes".into(),
            ))
        })?;
        let label = after_begin[..label_end].trim().to_owned();
        let body_and_rest = &after_begin[label_end + DASHES.len()..];
        let footer = format!("{END}{label}{DASHES}");
        let body_end = body_and_rest.find(&footer).ok_or_else(|| {
            Error::new(ErrorKind::Truncated(format!(
                "the PEM block '{label}' has no '{footer}' line; it may have been cut off when copied"
            )))
        })?;
        let body: String = body_and_rest[..body_end]
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        if body.contains(':') {
            return Err(Error::new(ErrorKind::Encrypted(label)));
        }
        let der = STANDARD.decode(body.as_bytes()).map_err(|err| {
            Error::new(ErrorKind::InvalidBase64(format!(
                "the body of the '{label}' PEM block is not valid base64 ({err}); it may be truncated or contain stray characters"
            )))
        })?;
        if der.is_empty() {
            return Err(Error::new(ErrorKind::Truncated(format!(
                "the '{label}' PEM block is empty"
            ))));
        }
        blocks.push(PemBlock { label, der });
        rest = &body_and_rest[body_end + footer.len()..];
    }
    if blocks.is_empty() {
        return Err(Error::new(ErrorKind::NotPem(describe_non_pem(text))));
    }
    Ok(blocks)
}

/// Turns the escaped spellings into real line breaks so one parser handles them all.
fn normalize(text: &str) -> String {
    let text = text.trim().trim_matches('"');
    text.replace("\\r\\n", "\n")
        .replace("\\n", "\n")
        .replace("\r\n", "\n")
}

fn describe_non_pem(text: &str) -> String {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return "empty input".to_owned();
    }
    if trimmed.starts_with("ssh-") || trimmed.starts_with("ecdsa-sha2-") {
        return "an OpenSSH public key".to_owned();
    }
    if trimmed.starts_with("eyJ") && trimmed.matches('.').count() == 2 {
        return "a JSON Web Token".to_owned();
    }
    if trimmed.starts_with('{') {
        return "JSON text".to_owned();
    }
    if trimmed.contains("BEGIN") {
        return "text with a malformed BEGIN line".to_owned();
    }
    if trimmed.len() > 32
        && trimmed
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+/=\n\r ".contains(c))
    {
        return "bare base64 without the -----BEGIN PUBLIC KEY----- and -----END PUBLIC KEY----- lines".to_owned();
    }
    "text that is not PEM".to_owned()
}

/// Writes `der` as a canonical PEM block: header, base64 in 64-character lines, footer, each ended
/// by `\n` — byte-identical to what openssl prints.
pub fn encode(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = String::with_capacity(body.len() + body.len() / 64 + 2 * label.len() + 40);
    out.push_str(BEGIN);
    out.push_str(label);
    out.push_str("-----\n");
    for line in body.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(END);
    out.push_str(label);
    out.push_str("-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANONICAL: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEFQUkD1YB67wg3e0VD/2c3N3Wf92n\nuQqDgFZuYG/NcYLwT3Zdw77s6//8XSI2NYv7WNgUONxMj+j65Qijq4/fhw==\n-----END PUBLIC KEY-----\n";

    #[test]
    fn every_spelling_decodes_to_the_same_block() {
        let one_line = "-----BEGIN PUBLIC KEY-----MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEFQUkD1YB67wg3e0VD/2c3N3Wf92nuQqDgFZuYG/NcYLwT3Zdw77s6//8XSI2NYv7WNgUONxMj+j65Qijq4/fhw==-----END PUBLIC KEY-----";
        let spellings = [
            CANONICAL.to_owned(),
            CANONICAL.replace('\n', "\r\n"),
            CANONICAL.trim_end().to_owned(),
            one_line.to_owned(),
            format!("  \n{CANONICAL}\n\n "),
            CANONICAL.replace('\n', "\\n"),
            CANONICAL.replace('\n', "\\r\\n"),
        ];
        let expected = parse_all(CANONICAL).unwrap();
        for spelling in spellings {
            assert_eq!(parse_all(&spelling).unwrap(), expected, "{spelling:?}");
        }
    }

    #[test]
    fn encode_round_trips_to_the_canonical_spelling() {
        let block = &parse_all(CANONICAL).unwrap()[0];
        assert_eq!(encode(&block.label, &block.der), CANONICAL);
    }

    #[test]
    fn reads_several_blocks() {
        let text = format!("{CANONICAL}{}", CANONICAL.replace("PUBLIC KEY", "OTHER"));
        let labels: Vec<_> = parse_all(&text)
            .unwrap()
            .into_iter()
            .map(|b| b.label)
            .collect();
        assert_eq!(labels, ["PUBLIC KEY", "OTHER"]);
    }

    #[test]
    fn names_what_was_found_instead_of_pem() {
        let cases = [
            ("", "empty input"),
            ("ssh-ed25519 AAAAC3Nza", "OpenSSH"),
            (
                "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEFQUkD1YB67wg3e0VD",
                "bare base64",
            ),
            ("hello", "not PEM"),
        ];
        for (input, needle) in cases {
            let message = parse_all(input).unwrap_err().to_string();
            assert!(message.contains(needle), "{input:?}: {message}");
        }
    }

    #[test]
    fn reports_truncation_and_bad_base64() {
        let cut = &CANONICAL[..CANONICAL.len() - 20];
        assert!(matches!(
            parse_all(cut).unwrap_err().kind(),
            ErrorKind::Truncated(_)
        ));
        let bad = CANONICAL.replace("MFkw", "MF!w");
        assert!(matches!(
            parse_all(&bad).unwrap_err().kind(),
            ErrorKind::InvalidBase64(_)
        ));
    }
}
