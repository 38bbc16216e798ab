//! Nothing in `data/` dated after 2016 is a platform's value share, users, merchants,
//! penetration or multi-homing: the calibrated forecast is scored against such figures by a
//! check outside the repository. The scan reads every CSV row and every scenario comment.

use std::path::{Path, PathBuf};

/// The last year whose figures the project may hold.
const LAST_YEAR: u32 = 2016;

/// Words that name the kinds of figure kept out.
const KINDS: [&str; 14] = [
    "segment",
    "share",
    "shares",
    "users",
    "user",
    "merchants",
    "merchant",
    "stores",
    "holders",
    "accounts",
    "penetration",
    "multihoming",
    "tpv",
    "volume",
];

/// Words that mark a price, a rule or an event rather than an adoption figure.
const PRICES: [&str; 9] = [
    "fee", "fees", "rate", "cut", "deposit", "subsidy", "cap", "limit", "stake",
];

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, ext, out);
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
}

/// The years (2000–2099) written in `text`.
fn years(text: &str) -> Vec<u32> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    for k in 0..b.len().saturating_sub(3) {
        let four = &b[k..k + 4];
        let alone = (k == 0 || !b[k - 1].is_ascii_digit())
            && (k + 4 == b.len() || !b[k + 4].is_ascii_digit());
        if alone && four[0] == b'2' && four[1] == b'0' && four.iter().all(u8::is_ascii_digit) {
            out.push(std::str::from_utf8(four).unwrap().parse().unwrap());
        }
    }
    out
}

fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric() && c != '%')
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect()
}

/// Whether `text` states an adoption figure: a number with a magnitude or a percent sign
/// (`450M`, `85%`, `1.2 million`, `80 M`) within eight words of a word of [`KINDS`], and no
/// word of [`PRICES`] (a fee cut of 10% for small merchants is a price, not a figure kept out).
fn states_a_figure(text: &str) -> bool {
    let w = words(text);
    if w.iter().any(|x| PRICES.contains(&x.as_str())) {
        return false;
    }
    let is_number = |x: &str| {
        let digits = x.trim_end_matches(['%', 'm', 'k']);
        !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
    };
    let magnitude = |k: usize| {
        let x = &w[k];
        x.ends_with('%')
            || x.ends_with('m')
            || w.get(k + 1).is_some_and(|n| {
                ["m", "million", "bn", "billion", "%", "percent", "mn"].contains(&n.as_str())
            })
    };
    (0..w.len()).any(|k| {
        is_number(&w[k])
            && magnitude(k)
            && w[k.saturating_sub(8)..(k + 9).min(w.len())]
                .iter()
                .any(|x| KINDS.contains(&x.as_str()))
    })
}

#[test]
fn the_scan_recognises_the_figures_it_keeps_out() {
    assert!(states_a_figure(
        "GUESS: between 16 M bank-card merchants (NDRC 2015) and Ant's 80 M (2020)"
    ));
    assert!(states_a_figure("first batch 85% of Taobao merchants"));
    assert!(states_a_figure(">22M merchants benefited"));
    assert!(states_a_figure("768 million users"));
    assert!(states_a_figure(
        "iResearch 2018: the consumption segment was 13.7-20.8% of third-party mobile value"
    ));
    assert!(!states_a_figure(
        "10% small-merchant fee cut from 2021-08-01"
    ));
    assert!(!states_a_figure("WeChat Pay on Taobao/Tmall considered"));
    assert_eq!(
        years("2019Q1-Q3 and 2014-10-16, not 12016"),
        vec![2019, 2014]
    );
}

/// Rows whose period is after 2016: in the target files, none; elsewhere, no row naming an
/// adoption figure in its series, and no adoption figure in its words.
#[test]
fn no_csv_row_after_2016_is_a_share_user_merchant_or_multihoming_figure() {
    let mut csvs = Vec::new();
    files(Path::new("data"), "csv", &mut csvs);
    assert!(csvs.len() >= 7, "{csvs:?}");
    let mut scanned = 0;
    for f in &csvs {
        let mut r = csv::ReaderBuilder::new()
            .flexible(true)
            .from_path(f)
            .unwrap();
        let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
        // A posterior sample (`calibrate --method abc`) holds parameter vectors, no dated
        // figure and no words.
        if header.starts_with(&["particle", "weight", "distance", "generation"].map(String::from)) {
            continue;
        }
        let period = header
            .iter()
            .position(|h| h == "period" || h == "date")
            .unwrap_or_else(|| panic!("{}: no period column", f.display()));
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        for (k, row) in r.records().enumerate() {
            let row = row.unwrap();
            let late = years(&row[period]).into_iter().any(|y| y > LAST_YEAR);
            if !late {
                continue;
            }
            scanned += 1;
            let place = format!("{}: row {}", f.display(), k + 2);
            let text: Vec<&str> = row.iter().collect();
            let text = text.join(" ");
            assert!(
                name != "market_shares.csv" && name != "user_counts.csv",
                "{place}: a target file holds a figure dated after {LAST_YEAR}: {text}"
            );
            if name == "network_paths.csv" {
                // Memberships of networks that are not wallets are inputs.
                assert!(
                    ["wechat", "weibo", "mobile_internet"].contains(&&row[0]),
                    "{place}: {text}"
                );
                continue;
            }
            if header[0] == "series" {
                let series = words(&row[0].replace(['.', '_'], " "));
                let price = series.iter().any(|w| PRICES.contains(&w.as_str()));
                // A dated event (unit `event`, no value) is a launch, a block or an opening,
                // not a count: its series may name merchants (a free merchant code's launch).
                let unit = header.iter().position(|h| h == "unit");
                let value = header.iter().position(|h| h == "value");
                let event = unit.is_some_and(|u| row[u].starts_with("event"))
                    && value.is_some_and(|v| row[v].trim().is_empty());
                assert!(
                    price || event || !series.iter().any(|w| KINDS.contains(&w.as_str())),
                    "{place}: an adoption series dated after {LAST_YEAR}: {text}"
                );
            }
            assert!(
                !states_a_figure(&text),
                "{place}: states an adoption figure dated after {LAST_YEAR}: {text}"
            );
        }
    }
    assert!(
        scanned > 50,
        "the scan read {scanned} later rows: too few to be the real files"
    );
}

/// Scenario and parameter files: no comment paragraph or line that mentions a year after 2016
/// states an adoption figure (consecutive comment lines are read as one paragraph, so a figure
/// whose year is on the line before is caught too).
#[test]
fn no_scenario_comment_states_an_adoption_figure_after_2016() {
    let mut tomls = Vec::new();
    files(Path::new("data"), "toml", &mut tomls);
    assert!(tomls.len() >= 3);
    for f in &tomls {
        let text = std::fs::read_to_string(f).unwrap();
        let mut blocks: Vec<(usize, String)> = Vec::new();
        let mut in_comment = false;
        for (k, line) in text.lines().enumerate() {
            let comment = line.trim_start().starts_with('#');
            if comment && in_comment {
                let last = blocks.last_mut().unwrap();
                last.1.push(' ');
                last.1.push_str(line);
            } else {
                blocks.push((k + 1, line.to_string()));
            }
            in_comment = comment;
        }
        for (k, block) in blocks {
            if years(&block).into_iter().any(|y| y > LAST_YEAR) {
                assert!(!states_a_figure(&block), "{}:{k}: {block}", f.display());
            }
        }
    }
}
