use super::*;

fn item(teeth: &[&str], r: &str, m: &str, shade: Option<&str>) -> RxItemInput {
    RxItemInput {
        teeth: teeth.iter().map(|s| s.to_string()).collect(),
        restoration: Some(r.into()),
        material: Some(m.into()),
        shade: shade.map(str::to_owned),
        ..RxItemInput::default()
    }
}

fn rx(items: Vec<RxItemInput>) -> RxInput {
    RxInput {
        items,
        ..RxInput::default()
    }
}

#[test]
fn fdi_numbers_are_checked() {
    for ok in ["11", "18", "28", "38", "48", "51", "55", "65", "75", "85"] {
        assert!(Tooth::from_fdi(ok).is_some(), "{ok}");
    }
    for bad in ["10", "19", "49", "56", "90", "1", "111", "", "a1", "09"] {
        assert!(Tooth::from_fdi(bad).is_none(), "{bad}");
    }
}

#[test]
fn universal_numbers_convert_to_fdi() {
    let u = |s: &str| Tooth::from_universal(s).map(Tooth::fdi);
    assert_eq!(u("1"), Some(18));
    assert_eq!(u("8"), Some(11));
    assert_eq!(u("9"), Some(21));
    assert_eq!(u("16"), Some(28));
    assert_eq!(u("17"), Some(38));
    assert_eq!(u("24"), Some(31));
    assert_eq!(u("25"), Some(41));
    assert_eq!(u("32"), Some(48));
    assert_eq!(u("A"), Some(55));
    assert_eq!(u("E"), Some(51));
    assert_eq!(u("F"), Some(61));
    assert_eq!(u("J"), Some(65));
    assert_eq!(u("K"), Some(75));
    assert_eq!(u("O"), Some(71));
    assert_eq!(u("P"), Some(81));
    assert_eq!(u("t"), Some(85));
    for bad in ["0", "33", "U", "08", "AA", "+8", "-1", " 8"] {
        assert_eq!(u(bad), None, "{bad}");
    }
    // Every Universal number maps to a distinct valid FDI tooth.
    let mut seen = std::collections::HashSet::new();
    for n in 1..=32 {
        let t = Tooth::from_universal(&n.to_string()).unwrap();
        assert!(Tooth::from_fdi(&t.to_string()).is_some());
        assert!(seen.insert(t));
    }
}

#[test]
fn a_universal_rx_is_stored_in_fdi() {
    let mut input = rx(vec![item(&["8", "9"], "crown", "zirconia", Some("a2"))]);
    input.tooth_notation = ToothNotation::Universal;
    let rx = input.parse("rx").unwrap();
    assert_eq!(
        serde_json::to_value(&rx.items[0].teeth).unwrap(),
        serde_json::json!(["11", "21"])
    );
    assert_eq!(rx.items[0].shade.unwrap().as_str(), "A2");
}

#[test]
fn every_malformed_field_is_reported_with_its_path() {
    let mut bad = item(&["11", "99", "11"], "tiara", "zirconia", Some("Z9"));
    bad.pontics = vec!["12".into()];
    let errs = rx(vec![item(&["21"], "crown", "gold", None), bad])
        .parse("rx")
        .unwrap_err();
    let got: Vec<(&str, &str)> = errs.iter().map(|e| (e.field.as_str(), e.code)).collect();
    assert_eq!(
        got,
        vec![
            ("rx.items[1].teeth[1]", "invalid_tooth"),
            ("rx.items[1].teeth[2]", "duplicate_tooth"),
            ("rx.items[1].pontics[0]", "pontic_not_in_teeth"),
            ("rx.items[1].restoration", "unknown_value"),
            ("rx.items[1].shade", "invalid_shade"),
        ]
    );
}

#[test]
fn submission_rules() {
    let parse = |items| rx(items).parse("rx").unwrap();
    // A zirconia crown needs a shade; a gold one does not.
    let r = parse(vec![
        item(&["11"], "crown", "gold", None),
        item(&["21"], "crown", "zirconia", None),
    ]);
    let e = r.check_complete("rx");
    assert_eq!(e.len(), 1);
    assert_eq!((e[0].field.as_str(), e[0].code), ("rx.items[1].shade", "required"));
    // No items at all.
    assert_eq!(parse(vec![]).check_complete("rx")[0].field, "rx.items");
    // A night guard needs no teeth; a crown does.
    assert!(
        parse(vec![item(&[], "night_guard", "pmma", None)])
            .check_complete("rx")
            .is_empty()
    );
    assert_eq!(
        parse(vec![item(&[], "crown", "gold", None)]).check_complete("rx")[0].field,
        "rx.items[0].teeth"
    );
}

#[test]
fn bridges_span_neighbours_with_two_abutments() {
    let bridge = |teeth: &[&str], pontics: &[&str]| {
        let mut i = item(teeth, "bridge", "zirconia", Some("A2"));
        i.pontics = pontics.iter().map(|s| s.to_string()).collect();
        rx(vec![i]).parse("rx").unwrap().check_complete("rx")
    };
    assert!(bridge(&["14", "15", "16"], &["15"]).is_empty());
    // Across the midline, given in any order.
    assert!(bridge(&["21", "11", "12"], &["11"]).is_empty());
    assert!(bridge(&["31", "41"], &[]).is_empty());
    let codes = |e: Vec<FieldError>| e.into_iter().map(|e| e.code).collect::<Vec<_>>();
    assert_eq!(codes(bridge(&["14", "16"], &[])), vec!["bridge_not_contiguous"]);
    assert_eq!(codes(bridge(&["14", "15"], &["15"])), vec!["bridge_needs_abutments"]);
    // Upper and lower are different arches.
    assert_eq!(codes(bridge(&["11", "41"], &[])), vec!["bridge_not_contiguous"]);
    // Permanent and primary too.
    assert_eq!(codes(bridge(&["51", "11"], &[])), vec!["bridge_not_contiguous"]);
}

#[test]
fn the_stored_form_reads_back() {
    let r = rx(vec![item(&["36", "37"], "crown", "lithium_disilicate", Some("3m2"))])
        .parse("rx")
        .unwrap();
    let v = serde_json::to_string(&r).unwrap();
    assert_eq!(serde_json::from_str::<Rx>(&v).unwrap(), r);
    assert!(v.contains("\"3M2\""));
}
