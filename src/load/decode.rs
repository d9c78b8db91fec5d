//! Text decoding of CSV exports: UTF-8 (with or without BOM) or GB18030, which
//! includes GBK and GB2312 as exported by Chinese finance software; UTF-16 when its
//! byte order mark says so (Excel's "Unicode text").

use std::borrow::Cow;

use encoding_rs::{DecoderResult, Encoding as Charset, GB18030, UTF_16BE, UTF_16LE};

use crate::config::Encoding;

/// Decodes `bytes` as declared, or detects: BOM, then strict UTF-8, then GB18030.
/// Returns the text and the name of the encoding used. Never replaces bad bytes:
/// an undecodable byte is an error naming its line.
pub fn decode(bytes: &[u8], declared: Encoding) -> Result<(Cow<'_, str>, &'static str), String> {
    // A UTF-16 byte order mark is unmistakable, whatever was declared.
    for (bom, charset, name) in [(b"\xFF\xFE", UTF_16LE, "utf-16le"), (b"\xFE\xFF", UTF_16BE, "utf-16be")] {
        if let Some(body) = bytes.strip_prefix(bom) {
            return strict(charset, body).map(|t| (Cow::Owned(t), name));
        }
    }
    // No CSV text holds a NUL byte; UTF-16 that lost its mark does (in every ASCII character).
    if bytes[..bytes.len().min(4096)].contains(&0) {
        return Err("has NUL bytes: it looks like UTF-16 without a byte order mark, or not text; \
                    save it as UTF-8 or GBK"
            .into());
    }
    let (body, bom) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (rest, true),
        None => (bytes, false),
    };
    match declared {
        Encoding::Utf8 => utf8(body).map(|t| (t, "utf-8")),
        Encoding::Gb18030 => gb18030(body).map(|t| (Cow::Owned(t), "gb18030")),
        Encoding::Auto if bom => utf8(body).map(|t| (t, "utf-8-bom")),
        Encoding::Auto => match std::str::from_utf8(body) {
            Ok(text) => Ok((Cow::Borrowed(text), "utf-8")),
            Err(_) => gb18030(body)
                .map(|t| (Cow::Owned(t), "gb18030"))
                .map_err(|e| format!("neither UTF-8 nor GB18030/GBK: {e}")),
        },
    }
}

fn utf8(bytes: &[u8]) -> Result<Cow<'_, str>, String> {
    std::str::from_utf8(bytes).map(Cow::Borrowed).map_err(|e| {
        let at = e.valid_up_to();
        format!(
            "invalid UTF-8 at line {}, byte {at} (set `encoding: gb18030` or `auto` for GBK exports)",
            line_of(bytes, at)
        )
    })
}

fn gb18030(bytes: &[u8]) -> Result<String, String> {
    strict(GB18030, bytes)
}

/// Decodes without replacing anything: a malformed sequence is an error naming its line.
fn strict(charset: &'static Charset, bytes: &[u8]) -> Result<String, String> {
    let mut decoder = charset.new_decoder_without_bom_handling();
    let capacity = decoder.max_utf8_buffer_length_without_replacement(bytes.len()).unwrap_or(bytes.len() * 3);
    let mut out = String::with_capacity(capacity);
    let (result, read) = decoder.decode_to_string_without_replacement(bytes, &mut out, true);
    match result {
        DecoderResult::InputEmpty => Ok(out),
        DecoderResult::Malformed(bad, _) => {
            let at = read.saturating_sub(bad as usize);
            Err(format!("invalid {} byte sequence at line {}, byte {at}", charset.name(), line_of(bytes, at)))
        }
        DecoderResult::OutputFull => unreachable!("buffer sized by max_utf8_buffer_length"),
    }
}

fn line_of(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset.min(bytes.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_each_encoding() {
        let text = "客户编码,客户名称\nC001,北京字节跳动科技有限公司\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        assert_eq!(decode(text.as_bytes(), Encoding::Auto).unwrap(), (Cow::Borrowed(text), "utf-8"));
        let bom = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
        assert_eq!(decode(&bom, Encoding::Auto).unwrap().1, "utf-8-bom");
        let (decoded, name) = decode(&gbk, Encoding::Auto).unwrap();
        assert_eq!((decoded.as_ref(), name), (text, "gb18030"));
    }

    #[test]
    fn declared_utf8_fails_loudly_with_line() {
        let (gbk, _, _) = encoding_rs::GBK.encode("a,b\n1,2\n3,客户\n");
        let err = decode(&gbk, Encoding::Utf8).unwrap_err();
        assert!(err.contains("invalid UTF-8 at line 3"), "{err}");
    }

    #[test]
    fn undecodable_bytes_are_an_error() {
        let err = decode(b"a,b\n\xFF\xFF\xFF\n", Encoding::Auto).unwrap_err();
        assert!(err.contains("line 2"), "{err}");
    }
}
