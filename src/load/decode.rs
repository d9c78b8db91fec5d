//! Text decoding of CSV exports: UTF-8 (with or without BOM) or GB18030, which
//! includes GBK and GB2312 as exported by Chinese finance software; UTF-16 when its
//! byte order mark says so (Excel's "Unicode text").

use std::borrow::Cow;
use std::ops::Range;

use encoding_rs::{DecoderResult, Encoding as Charset, GB18030, UTF_16BE, UTF_16LE};

use crate::config::Encoding;

/// Decoded text, the name of its encoding, and the 1-based lines found in the other
/// of UTF-8 and GB18030. Such lines come from exports pasted together; each is decoded
/// in its own encoding, and the reader rejects their rows (`mixed_encoding`) rather
/// than load them as mojibake.
#[derive(Debug, PartialEq)]
pub struct Decoded<'a> {
    pub text: Cow<'a, str>,
    pub encoding: &'static str,
    pub foreign: Vec<u64>,
}

/// Text all in one encoding.
fn whole<'a>(text: Cow<'a, str>, encoding: &'static str) -> Decoded<'a> {
    Decoded { text, encoding, foreign: Vec::new() }
}

/// Decodes `bytes` as declared, or detects: BOM, then strict UTF-8, then GB18030.
/// Never replaces bad bytes: an undecodable byte is an error naming its line.
pub fn decode(bytes: &[u8], declared: Encoding) -> Result<Decoded<'_>, String> {
    // A UTF-16 byte order mark is unmistakable, whatever was declared.
    for (bom, charset, name) in [(b"\xFF\xFE", UTF_16LE, "utf-16le"), (b"\xFE\xFF", UTF_16BE, "utf-16be")] {
        if let Some(body) = bytes.strip_prefix(bom) {
            return strict(charset, body, 1).map(|t| whole(Cow::Owned(t), name));
        }
    }
    if let Some((kind, format)) = binary_kind(bytes) {
        return Err(format!("is {kind}, not CSV text; set `format: {format}`"));
    }
    // No CSV text holds a NUL byte; UTF-16 that lost its mark does (in every ASCII
    // character), a damaged export in a few places.
    if let Some(at) = memchr::memchr(0, bytes) {
        let head = &bytes[..bytes.len().min(4096)];
        if head.iter().filter(|&&b| b == 0).count() * 8 > head.len() {
            return Err("has NUL bytes: it looks like UTF-16 without a byte order mark, or not text; \
                        save it as UTF-8 or GBK"
                .into());
        }
        return Err(format!(
            "line {}: a NUL byte, which no text export holds; the file is damaged",
            line_of(bytes, at)
        ));
    }
    let (body, bom) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (rest, true),
        None => (bytes, false),
    };
    match declared {
        Encoding::Utf8 => utf8(body).map(|t| whole(t, "utf-8")),
        Encoding::Gb18030 => mixed(body, false),
        Encoding::Auto if bom => utf8(body).map(|t| whole(t, "utf-8-bom")),
        Encoding::Auto => match std::str::from_utf8(body) {
            Ok(text) => Ok(whole(Cow::Borrowed(text), "utf-8")),
            Err(_) => mixed(body, true).map_err(|e| format!("neither UTF-8 nor GB18030/GBK: {e}")),
        },
    }
}

/// Files that other readers read, by their first bytes: (what, the `format:` to set).
fn binary_kind(bytes: &[u8]) -> Option<(&'static str, &'static str)> {
    const KINDS: [(&[u8], &str, &str); 3] = [
        (b"PK\x03\x04", "a zip archive (an XLSX workbook?)", "xlsx"),
        (b"\xD0\xCF\x11\xE0", "an XLS workbook", "xlsx"),
        (b"PAR1", "a Parquet file", "parquet"),
    ];
    KINDS.iter().find(|(magic, _, _)| bytes.starts_with(magic)).map(|(_, kind, format)| (*kind, *format))
}

/// Lines with non-ASCII bytes, split at \n, \r\n or a lone \r, with their 1-based numbers.
fn lines(bytes: &[u8]) -> impl Iterator<Item = (u64, Range<usize>)> + '_ {
    let mut start = 0;
    let mut number = 0;
    std::iter::from_fn(move || {
        while start < bytes.len() {
            let end = memchr::memchr2(b'\n', b'\r', &bytes[start..]).map_or(bytes.len(), |i| start + i);
            let line = start..end;
            number += 1;
            start = end + if bytes[end..].starts_with(b"\r\n") { 2 } else { 1 };
            if !bytes[line.clone()].is_ascii() {
                return Some((number, line));
            }
        }
        None
    })
}

/// Whether a line that reads as UTF-8 in a GBK file is UTF-8 indeed. A few GBK lines
/// read as UTF-8 too (郑伟 is two Greek and Hebrew letters); in them every pair of bytes
/// is a GB2312 character, where UTF-8 Chinese, read as GBK, never is throughout. And
/// UTF-8 Chinese is made of 3-byte characters, where GBK read as UTF-8 mostly gives
/// 2-byte ones (Latin, Greek, Cyrillic, Hebrew).
fn utf8_not_gbk(line: &str) -> bool {
    let wide = line.chars().all(|c| c.is_ascii() || c >= '\u{2000}');
    wide && !gb2312_only(line.as_bytes())
}

/// Whether every non-ASCII byte pairs into a GB2312 character (both bytes A1–FE, first
/// at most F7).
fn gb2312_only(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1)) {
            (b, _) if b.is_ascii() => i += 1,
            (0xA1..=0xF7, Some(0xA1..=0xFE)) => i += 2,
            _ => return false,
        }
    }
    true
}

/// Decodes a file that is not all UTF-8: GB18030, or (`auto`, when most of its
/// non-ASCII lines are UTF-8) UTF-8; a line that only the other encoding reads is
/// decoded in that one and listed as foreign. One pass finds the lines; a file in one
/// encoding is then decoded whole, as most are.
fn mixed(bytes: &[u8], auto: bool) -> Result<Decoded<'static>, String> {
    let is_utf8 = |r: &Range<usize>| std::str::from_utf8(&bytes[r.clone()]).is_ok();
    let (mut utf8_chinese, mut utf8, mut others) = (Vec::new(), 0, 0);
    for (number, line) in lines(bytes) {
        match std::str::from_utf8(&bytes[line.clone()]) {
            Ok(text) => {
                utf8 += 1;
                if utf8_not_gbk(text) {
                    utf8_chinese.push((number, line));
                }
            }
            Err(_) => others += 1,
        }
    }
    let utf8_main = auto && utf8 > others;
    let foreign = match utf8_main {
        true => lines(bytes).filter(|(_, r)| !is_utf8(r)).collect(),
        false => utf8_chinese,
    };
    let encoding = if utf8_main { "utf-8" } else { "gb18030" };
    if foreign.is_empty() {
        return Ok(Decoded { text: Cow::Owned(strict(GB18030, bytes, 1)?), encoding, foreign: Vec::new() });
    }
    let main = |from: usize, to: usize, line: u64| match utf8_main {
        true => std::str::from_utf8(&bytes[from..to]).map(str::to_string).map_err(|e| e.to_string()),
        false => strict(GB18030, &bytes[from..to], line),
    };
    let mut text = String::with_capacity(bytes.len() * 3 / 2);
    // Runs of main-encoding lines are decoded whole: from (byte, line).
    let mut run = (0, 1);
    for (number, line) in &foreign {
        text.push_str(&main(run.0, line.start, run.1)?);
        match std::str::from_utf8(&bytes[line.clone()]) {
            Ok(t) => text.push_str(t),
            Err(_) => text.push_str(&strict(GB18030, &bytes[line.clone()], *number)?),
        }
        run = (line.end, *number);
    }
    text.push_str(&main(run.0, bytes.len(), run.1)?);
    let foreign = foreign.into_iter().map(|(number, _)| number).collect();
    Ok(Decoded { text: Cow::Owned(text), encoding, foreign })
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

/// Decodes without replacing anything: a malformed sequence is an error naming its
/// line, counted from `first_line`.
fn strict(charset: &'static Charset, bytes: &[u8], first_line: u64) -> Result<String, String> {
    let mut decoder = charset.new_decoder_without_bom_handling();
    let capacity = decoder.max_utf8_buffer_length_without_replacement(bytes.len()).unwrap_or(bytes.len() * 3);
    let mut out = String::with_capacity(capacity);
    let (result, read) = decoder.decode_to_string_without_replacement(bytes, &mut out, true);
    match result {
        DecoderResult::InputEmpty => Ok(out),
        DecoderResult::Malformed(bad, _) => {
            let at = read.saturating_sub(bad as usize);
            let line = first_line + line_of(bytes, at) as u64 - 1;
            Err(format!("invalid {} byte sequence at line {line}, byte {at}", charset.name()))
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
        let utf8 = decode(text.as_bytes(), Encoding::Auto).unwrap();
        assert_eq!((utf8.text.as_ref(), utf8.encoding), (text, "utf-8"));
        let bom = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
        assert_eq!(decode(&bom, Encoding::Auto).unwrap().encoding, "utf-8-bom");
        let decoded = decode(&gbk, Encoding::Auto).unwrap();
        assert_eq!((decoded.text.as_ref(), decoded.encoding, decoded.foreign), (text, "gb18030", vec![]));
    }

    #[test]
    fn a_line_in_the_other_encoding_is_decoded_in_its_own_and_named() {
        let gbk = |s: &str| encoding_rs::GBK.encode(s).0.into_owned();
        // Pure GBK whose short lines read as UTF-8 too (郑伟, 谢强) has no foreign line.
        let names = gbk("编号,姓名\n1,郑伟\n2,谢强\n3,王小明\n");
        assert!(std::str::from_utf8(&gbk("1,郑伟")).is_ok(), "the case this guards against");
        assert_eq!(decode(&names, Encoding::Auto).unwrap().foreign, Vec::<u64>::new());
        assert_eq!(decode(&names, Encoding::Gb18030).unwrap().text, "编号,姓名\n1,郑伟\n2,谢强\n3,王小明\n");
        // A GBK export with a UTF-8 line pasted in at line 3, CRLF endings.
        let bytes =
            [gbk("编码,名称\r\nC1,北京公司\r\n"), "C2,上海公司\r\n".as_bytes().to_vec(), gbk("C3,广州公司\r\n")]
                .concat();
        for declared in [Encoding::Auto, Encoding::Gb18030] {
            let d = decode(&bytes, declared).unwrap();
            assert_eq!(d.text, "编码,名称\r\nC1,北京公司\r\nC2,上海公司\r\nC3,广州公司\r\n");
            assert_eq!((d.encoding, d.foreign), ("gb18030", vec![3]));
        }
        // Mostly UTF-8, with one GBK line: UTF-8 is the file's encoding.
        let bytes =
            ["编码,名称\nC1,北京公司\n".as_bytes().to_vec(), gbk("C2,上海公司\n"), "C3,广州公司\n".as_bytes().to_vec()]
                .concat();
        let d = decode(&bytes, Encoding::Auto).unwrap();
        assert_eq!(d.text, "编码,名称\nC1,北京公司\nC2,上海公司\nC3,广州公司\n");
        assert_eq!((d.encoding, d.foreign), ("utf-8", vec![3]));
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
