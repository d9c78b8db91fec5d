//! Properties every normalizer must have: total (never panics, on any Unicode) and
//! idempotent (normalizing a cleaned value changes nothing).

use proptest::prelude::*;

use super::*;

fn all() -> Vec<Normalizer> {
    vec![
        Normalizer::Text,
        Normalizer::CompanyName,
        Normalizer::PersonName,
        Normalizer::Phone(phonenumber::country::Id::CN),
        Normalizer::Email,
        Normalizer::Uscc,
        Normalizer::ResidentId,
        Normalizer::CnAddress,
        Normalizer::Date,
        Normalizer::Money { scale: 2 },
    ]
}

/// Extras derived from the value alone must be stable too; a phone's extension is
/// split off the value, so only its type is compared.
fn stable_extras(n: &Normalizer, o: &Outcome) -> Vec<Option<String>> {
    match n {
        Normalizer::Phone(_) => o.extras[..1].to_vec(),
        _ => o.extras.clone(),
    }
}

fn check(s: &str) -> Result<(), TestCaseError> {
    for n in all() {
        let once = n.apply(s);
        prop_assert_eq!(once.extras.len(), n.extras().len());
        if let Some(v) = &once.value {
            let twice = n.apply(v);
            prop_assert_eq!(&twice.value, &once.value, "{:?} of {:?}", n, s);
            prop_assert_eq!(stable_extras(&n, &twice), stable_extras(&n, &once), "{:?} of {:?}", n, s);
        }
    }
    Ok(())
}

/// Characters real exports are made of: CJK place and legal-form words, full-width
/// forms, digits, phone and money punctuation, brackets, spaces and invisibles.
const EXPORT_CHARS: &str = "[北京上海广东深圳市省区县路号华信科技有限责任公司股份集团分（）()【】 　\u{200B}\u{FEFF}0-9０-９+\\-/.,，@A-Za-zＡ-Ｚ转xX#¥￥元年月日尚岳麓辉福商行功线思张会计或]{0,40}";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn total_and_idempotent_on_any_unicode(s in "\\PC{0,40}") {
        check(&s)?;
    }

    #[test]
    fn total_and_idempotent_on_export_like_text(s in EXPORT_CHARS) {
        check(&s)?;
    }
}

#[test]
fn money_and_dates_have_typed_output() {
    assert_eq!(Normalizer::Money { scale: 2 }.apply("￥1,234.5元").value.as_deref(), Some("1234.50"));
    assert_eq!(Normalizer::Money { scale: 0 }.apply("-1,234").value.as_deref(), Some("-1234"));
    assert_eq!(Normalizer::Money { scale: 2 }.apply("0.05").value.as_deref(), Some("0.05"));
    assert_eq!(Normalizer::Date.apply("２０２４年３月５日").value.as_deref(), Some("2024-03-05"));
    assert_eq!(Normalizer::Date.apply("45356").value.as_deref(), Some("2024-03-05"));
    assert_eq!(Normalizer::Date.apply("2024-13-01").error, Some("bad_date"));
}
