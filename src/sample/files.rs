//! Writers that make the sample look like real exports: a GBK CSV with Chinese headers
//! (finance system), an XLSX with a merged title row and mixed headers (CRM), Parquet
//! transactions, a CSV of FX rates, and the ground truth.

use std::path::Path;

use chrono::NaiveDate;
use polars::prelude::*;
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, FormatAlign, Workbook, XlsxError};

use super::records::Record;
use super::transactions::{Document, FxRate};
use crate::error::{Error, PolarsContext, Result};

const ERP_HEADERS: [&str; 11] = [
    "客户编码",
    "客户名称",
    "统一社会信用代码",
    "联系电话",
    "联系人",
    "地址",
    "所属地区",
    "客户分类",
    "信用额度",
    "建档日期",
    "状态",
];

fn erp_fields(r: &Record) -> [String; 11] {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    [
        o(&r.customer_id),
        r.name.clone(),
        o(&r.uscc),
        o(&r.phone),
        o(&r.contact),
        o(&r.address),
        r.region.clone(),
        r.category.clone(),
        o(&r.credit_limit),
        r.created.clone(),
        r.status.to_string(),
    ]
}

/// The finance system's customer list: GBK-encoded CSV, Chinese headers. Rows planted
/// as `ragged_row` get a stray unquoted comma, as hand-edited exports do.
pub fn write_erp_csv(rows: &[Record], path: &Path) -> Result<usize> {
    let mut writer = csv::WriterBuilder::new().flexible(true).from_writer(Vec::new());
    let csv_err = |e: csv::Error| Error::input(path, e.to_string());
    writer.write_record(ERP_HEADERS).map_err(csv_err)?;
    for r in rows {
        let mut fields = erp_fields(r).to_vec();
        if r.planted == Some("ragged_row") {
            fields.insert(6, "备注".into());
        }
        writer.write_record(&fields).map_err(csv_err)?;
    }
    let utf8 = String::from_utf8(writer.into_inner().map_err(|e| Error::input(path, e.to_string()))?).expect("utf-8");
    let (gbk, _, lossy) = encoding_rs::GBK.encode(&utf8);
    if lossy {
        let bad = utf8.chars().find(|c| encoding_rs::GBK.encode(&c.to_string()).2);
        return Err(Error::input(path, format!("sample text has a character GBK cannot encode: {bad:?}")));
    }
    std::fs::write(path, gbk).map_err(|e| Error::io(path, e))?;
    Ok(rows.len())
}

/// The CRM's export: XLSX with a merged title, an export note, then the header on row 3.
pub fn write_crm_xlsx(rows: &[Record], path: &Path, as_of: NaiveDate) -> Result<usize> {
    write_crm(rows, path, as_of).map_err(|e| Error::input(path, format!("writing sample workbook: {e}")))?;
    Ok(rows.len())
}

fn write_crm(rows: &[Record], path: &Path, as_of: NaiveDate) -> Result<(), XlsxError> {
    let headers = [
        "Customer Code",
        "客户名称",
        "Tax ID",
        "Phone",
        "Contact",
        "Email",
        "Address",
        "Region",
        "Category",
        "Created",
        "Status",
    ];
    let mut workbook = Workbook::new();
    // A fixed creation time keeps the file byte-identical for the same seed.
    let created = ExcelDateTime::from_ymd(as_of.year() as u16, as_of.month() as u8, as_of.day() as u8)?;
    workbook.set_properties(&DocProperties::new().set_creation_datetime(&created));
    let sheet = workbook.add_worksheet().set_name("客户")?;
    let title = Format::new().set_bold().set_font_size(14).set_align(FormatAlign::Center);
    sheet.merge_range(
        0,
        0,
        0,
        (headers.len() - 1) as u16,
        &format!("CRM 客户导出 Customer Export — 截至 {as_of}"),
        &title,
    )?;
    sheet.write_string(1, 0, "导出人: admin")?;
    let bold = Format::new().set_bold();
    for (c, h) in headers.iter().enumerate() {
        sheet.write_string_with_format(2, c as u16, *h, &bold)?;
    }
    let date_format = Format::new().set_num_format("yyyy-mm-dd");
    for (i, r) in rows.iter().enumerate() {
        let row = (i + 3) as u32;
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let fields = [
            text(&r.customer_id),
            r.name.clone(),
            text(&r.uscc),
            String::new(),
            text(&r.contact),
            text(&r.email),
            text(&r.address),
            r.region.clone(),
            r.category.clone(),
            String::new(),
            r.status.to_string(),
        ];
        for (c, v) in fields.iter().enumerate() {
            if !v.is_empty() {
                sheet.write_string(row, c as u16, v)?;
            }
        }
        // Phones typed as plain digits become numbers in Excel.
        match &r.phone {
            Some(p) if p.len() == 11 && p.bytes().all(|b| b.is_ascii_digit()) => {
                sheet.write_number(row, 3, p.parse::<f64>().unwrap())?;
            }
            Some(p) => {
                sheet.write_string(row, 3, p)?;
            }
            None => {}
        }
        match NaiveDate::parse_from_str(&r.created, "%Y-%m-%d") {
            Ok(d) => {
                let dt = ExcelDateTime::from_ymd(d.year_ce().1 as u16, d.month0() as u8 + 1, d.day0() as u8 + 1)?;
                sheet.write_datetime_with_format(row, 9, &dt, &date_format)?;
            }
            Err(_) => {
                sheet.write_string(row, 9, &r.created)?;
            }
        }
    }
    let total_row = (rows.len() + 3) as u32;
    sheet.write_string(total_row, 1, format!("合计: {} 户", rows.len()))?;
    workbook.save(path)
}

use chrono::Datelike;

/// Invoices, red-letter credit notes referencing their originals, and payments.
pub fn write_transactions(docs: &[Document], path: &Path) -> Result<usize> {
    let ctx = || format!("writing {}", path.display());
    let text = |f: fn(&Document) -> Option<&str>| docs.iter().map(f).collect::<Vec<_>>();
    let mut df = df! {
        "单据编号" => text(|d| Some(d.doc_no.as_str())),
        "单据类型" => text(|d| Some(d.doc_type)),
        "原发票号" => text(|d| d.original_no.as_deref()),
        "客户编码" => text(|d| d.customer_id.as_deref()),
        "单据日期" => docs.iter().map(|d| d.date).collect::<Vec<_>>(),
        "到期日" => docs.iter().map(|d| d.due_date).collect::<Vec<_>>(),
        "金额" => docs.iter().map(Document::amount).collect::<Vec<_>>(),
        "币种" => text(|d| Some(d.currency)),
    }
    .context(ctx)?;
    df.apply("金额", |s| s.cast(&DataType::Decimal(18, 2)).expect("amounts are decimal text")).context(ctx)?;
    crate::write::write_parquet(&mut df, path)?;
    Ok(docs.len())
}

pub fn write_fx(rates: &[FxRate], path: &Path) -> Result<usize> {
    let mut out = String::from("日期,原币,本位币,汇率\n");
    for r in rates {
        out.push_str(&format!("{},{},CNY,{}\n", r.date, r.currency, r.rate));
    }
    std::fs::write(path, out).map_err(|e| Error::io(path, e))?;
    Ok(rates.len())
}

/// Which records are the same customer: (system, customer id) → entity. Rows planted
/// without an id or with another row's id cannot be keyed and are left out.
pub fn write_truth(records: &[&Record], path: &Path) -> Result<usize> {
    let mut out = String::from("source_system,customer_id,entity_id\n");
    let mut n = 0;
    for r in records {
        if let (Some(id), false) = (&r.customer_id, matches!(r.planted, Some("missing_required" | "duplicate_key"))) {
            out.push_str(&format!("{},{id},E{:06}\n", r.system, r.entity));
            n += 1;
        }
    }
    std::fs::write(path, out).map_err(|e| Error::io(path, e))?;
    Ok(n)
}
