//! Synthetic sample data for `kura demo`, for tests and for benchmarks.
//!
//! The real system that kura protects holds a household register for night-soil
//! collection in Sapporo: one master CSV file, a binary ledger of collections, and
//! a steady stream of Windows system logs and application logs. None of that data
//! may ever leave the city office, so this module invents a look-alike tree that
//! exercises kura the same way the real one does.
//!
//! The data is shaped on purpose. The CSV and the logs are mostly Japanese text in
//! UTF-8, drawn from small vocabularies of surnames, given names, ward and district
//! names and message templates, so they compress about as well as the real files
//! do; the binary ledger mixes structured fields with a few noisy bytes so it is
//! only moderately compressible. Together they give compression ratios and
//! throughput figures that mean something, rather than the extremes that all-zero
//! or all-random filler would give. Every name, address, phone number and amount is
//! a random combination of common parts and belongs to nobody; the logs mention
//! household numbers but never names, as the real logs must not.
//!
//! A few files exist only to trip up careless code: an empty file, a file whose
//! name has Japanese characters and a space, and a file buried under nested
//! directories with long Japanese names so that its relative path is well over 100
//! bytes (the limit of a plain tar header name). The CSV has remarks that contain
//! commas and double quotes, so they must be quoted and escaped. Line endings are
//! CRLF, as on the Windows machines the real files come from.
//!
//! Generation is deterministic for a given seed, streams every file through a
//! large `BufWriter` with a small reusable line buffer, and so runs in constant
//! memory whatever the requested size.

#![forbid(unsafe_code)]

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// What was generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleSummary {
    /// Number of regular files written (including the empty one).
    pub files: u64,
    /// Total bytes written across all files.
    pub bytes: u64,
}

/// Layout knobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleSpec {
    /// Approximate total size of the generated tree, in bytes.
    pub total_bytes: u64,
    /// Seed of the pseudo-random generator; the same seed gives the same bytes.
    pub seed: u64,
}

/// Capacity of each file's `BufWriter`.
const BUF_CAP: usize = 1 << 20;
/// Bytes of the master share set aside for the small note file.
const NOTE_RESERVE: u64 = 600;
/// Size of one ledger record.
const LEDGER_RECORD: u64 = 32;
/// Months covered by the system logs (year, month).
const SYSTEM_MONTHS: [(u32, u32); 6] = [
    (2024, 4),
    (2024, 5),
    (2024, 6),
    (2024, 7),
    (2024, 8),
    (2024, 9),
];
/// First day of the application logs and how many consecutive days there are.
const APP_FIRST_DAY: (u32, u32, u32) = (2024, 9, 21);
const APP_DAYS: u64 = 10;
/// Nested directories under `logs/app/` that make one long relative path.
const DEEP_DIRS: [&str; 6] = [
    "アーカイブ",
    "令和6年度",
    "収集実績詳細ログ",
    "月次集計バックアップ",
    "旧システム移行分",
    "保管期限確認待ち",
];
const DEEP_FILE: &str = "移行時照合結果.log";
/// Name of the note file, with Japanese characters and a space.
const NOTE_FILE: &str = "台帳 メモ.txt";

const CSV_HEADER: &str = "世帯番号,世帯主氏名,フリガナ,郵便番号,住所,電話番号,世帯人数,\
くみ取り区分,便槽容量(L),前回くみ取り日,手数料区分,備考\r\n";

/// Writes under `root`:
///   data/master/households.csv   — the master data file: UTF-8 CSV with header, one household per line:
///        世帯番号, 世帯主氏名 (Japanese full names, e.g. "佐藤 花子"), フリガナ (katakana), 郵便番号,
///        住所 (real Sapporo ward names + plausible 条/丁目/番/号 e.g. "札幌市東区北12条東3丁目4-5"),
///        電話番号 (011-xxx-xxxx), 世帯人数, くみ取り区分 (定期/臨時), 便槽容量(L), 前回くみ取り日 (YYYY-MM-DD),
///        手数料区分, 備考 (sometimes empty, sometimes text containing a comma so it must be quoted).
///   data/master/ledger.bin       — a binary ledger (fixed-size little-endian records: u32 household no,
///        u32 date as yyyymmdd, u32 litres, u32 fee yen, plus 16 random-ish bytes) — moderately compressible.
///   data/master/台帳 メモ.txt     — a small note file whose NAME has Japanese characters and a space.
///   data/master/empty.dat        — an empty file (0 bytes).
///   logs/system/System-YYYYMM.log and logs/app/app-YYYYMMDD.log — several log files of realistic lines
///        (timestamps, levels INFO/WARN/ERROR, Windows-service-ish and application messages mentioning
///        世帯番号 but never names).
///   one deep directory with a long path (> 100 bytes total relative path) containing one small file,
///        under logs/app/.
///
/// Roughly: master ~45%, system logs ~20%, app logs ~35% of total_bytes (at least one household line
/// etc. even for tiny sizes; total within ±10% of total_bytes when total_bytes >= 1 MiB).
/// Deterministic for a given seed (same bytes every time). Creates directories as needed.
pub fn generate(root: &Path, spec: &SampleSpec) -> io::Result<SampleSummary> {
    let total = spec.total_bytes;
    let seed = spec.seed;
    let master = percent(total, 45);
    let system = percent(total, 20);
    let app = total.saturating_sub(master + system);

    let master_dir = root.join("data").join("master");
    let system_dir = root.join("logs").join("system");
    let app_dir = root.join("logs").join("app");
    let mut deep_dir = app_dir.clone();
    for d in DEEP_DIRS {
        deep_dir.push(d);
    }
    fs::create_dir_all(&master_dir)?;
    fs::create_dir_all(&system_dir)?;
    fs::create_dir_all(&deep_dir)?;

    let mut summary = SampleSummary { files: 0, bytes: 0 };
    let mut tally = |bytes: u64| {
        summary.files += 1;
        summary.bytes += bytes;
    };

    // Master data: CSV first (it decides how many households exist), then the
    // ledger takes what is left of the master share.
    let master_rest = master.saturating_sub(NOTE_RESERVE);
    let csv_budget = percent(master_rest, 65);
    let (households, csv_bytes) = write_households(
        &master_dir.join("households.csv"),
        csv_budget,
        seed,
        &mut Rng::stream(seed, 1),
    )?;
    tally(csv_bytes);
    let ledger_budget = master_rest.saturating_sub(csv_bytes);
    tally(write_ledger(
        &master_dir.join("ledger.bin"),
        ledger_budget,
        households,
        seed,
        &mut Rng::stream(seed, 2),
    )?);
    tally(write_note(&master_dir.join(NOTE_FILE), households, seed)?);
    tally(Sink::create(&master_dir.join("empty.dat"))?.finish()?);

    // System logs, one per month.
    let mut rng = Rng::stream(seed, 3);
    let budgets = split_budget(system, SYSTEM_MONTHS.len(), &mut rng);
    for (i, &(year, month)) in SYSTEM_MONTHS.iter().enumerate() {
        let mut name = Vec::with_capacity(20);
        name.extend_from_slice(b"System-");
        push_pad(&mut name, u64::from(year), 4);
        push_pad(&mut name, u64::from(month), 2);
        name.extend_from_slice(b".log");
        let path = system_dir.join(String::from_utf8_lossy(&name).as_ref());
        let mut frng = Rng::stream(seed, 100 + i as u64);
        tally(write_system_log(
            &path,
            budgets[i],
            (year, month),
            households,
            seed,
            &mut frng,
        )?);
    }

    // Application logs, one per day, plus the small file at the end of the long path.
    let deep_body = deep_file_body(seed, households);
    let app_rest = app.saturating_sub(deep_body.len() as u64);
    let mut rng = Rng::stream(seed, 4);
    let budgets = split_budget(app_rest, APP_DAYS as usize, &mut rng);
    let first = days_from_civil(APP_FIRST_DAY.0, APP_FIRST_DAY.1, APP_FIRST_DAY.2);
    for (i, &budget) in budgets.iter().enumerate() {
        let date = civil_from_days(first + i as u64);
        let mut name = Vec::with_capacity(20);
        name.extend_from_slice(b"app-");
        push_pad(&mut name, u64::from(date.0), 4);
        push_pad(&mut name, u64::from(date.1), 2);
        push_pad(&mut name, u64::from(date.2), 2);
        name.extend_from_slice(b".log");
        let path = app_dir.join(String::from_utf8_lossy(&name).as_ref());
        let mut frng = Rng::stream(seed, 200 + i as u64);
        tally(write_app_log(
            &path, budget, date, households, seed, &mut frng,
        )?);
    }
    let mut sink = Sink::create(&deep_dir.join(DEEP_FILE))?;
    sink.put(&deep_body)?;
    tally(sink.finish()?);

    Ok(summary)
}

// ---------------------------------------------------------------------------
// Pseudo-random numbers
// ---------------------------------------------------------------------------

/// SplitMix64: tiny, fast, and good enough for made-up data.
struct Rng(u64);

impl Rng {
    /// An independent stream for one file, so that files do not shift each
    /// other's contents when their sizes change.
    fn stream(seed: u64, stream: u64) -> Self {
        Rng(mix(seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03)))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// Uniform in `0..n` (n must fit in 32 bits; it always does here).
    fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() >> 32) * n) >> 32
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// Picks from `(item, weight)` pairs.
    fn weighted<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        let total: u64 = items.iter().map(|&(_, w)| u64::from(w)).sum();
        let mut r = self.below(total);
        for &(item, w) in items {
            if r < u64::from(w) {
                return item;
            }
            r -= u64::from(w);
        }
        items[items.len() - 1].0
    }
}

/// The SplitMix64 finaliser, also used as a cheap hash.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

// ---------------------------------------------------------------------------
// Output helpers
// ---------------------------------------------------------------------------

/// A buffered file that counts what went into it.
struct Sink {
    out: BufWriter<File>,
    written: u64,
}

impl Sink {
    fn create(path: &Path) -> io::Result<Self> {
        Ok(Sink {
            out: BufWriter::with_capacity(BUF_CAP, File::create(path)?),
            written: 0,
        })
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    fn finish(mut self) -> io::Result<u64> {
        self.out.flush()?;
        Ok(self.written)
    }
}

/// `total * pct / 100` without overflow.
fn percent(total: u64, pct: u64) -> u64 {
    (u128::from(total) * u128::from(pct) / 100) as u64
}

/// Splits `total` into `n` parts of unequal (±20%) but deterministic sizes.
fn split_budget(total: u64, n: usize, rng: &mut Rng) -> Vec<u64> {
    let weights: Vec<u64> = (0..n).map(|_| rng.range(80, 120)).collect();
    let sum: u64 = weights.iter().sum();
    let mut parts: Vec<u64> = weights
        .iter()
        .map(|&w| (u128::from(total) * u128::from(w) / u128::from(sum)) as u64)
        .collect();
    let given: u64 = parts.iter().sum();
    if let Some(last) = parts.last_mut() {
        *last += total - given;
    }
    parts
}

/// `written / budget` of the way through `span`, clamped below `span`.
fn progress(span: u64, written: u64, budget: u64) -> u64 {
    let at = u128::from(span) * u128::from(written) / u128::from(budget.max(1));
    (at as u64).min(span.saturating_sub(1))
}

fn push_str(buf: &mut Vec<u8>, s: &str) {
    buf.extend_from_slice(s.as_bytes());
}

/// Decimal, no padding.
fn push_num(buf: &mut Vec<u8>, n: u64) {
    push_pad(buf, n, 1);
}

/// Decimal, zero-padded to at least `width` digits.
fn push_pad(buf: &mut Vec<u8>, mut n: u64, width: usize) {
    let mut tmp = [b'0'; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let start = i.min(tmp.len() - width.min(tmp.len()));
    buf.extend_from_slice(&tmp[start..]);
}

/// Upper-case hexadecimal, zero-padded to `width` digits.
fn push_hex(buf: &mut Vec<u8>, n: u64, width: usize) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for k in (0..width).rev() {
        buf.push(HEX[((n >> (4 * k)) & 0xF) as usize]);
    }
}

/// A CSV field, quoted (with doubled quotes) only when it needs to be.
fn push_csv_field(buf: &mut Vec<u8>, s: &str) {
    if s.bytes().any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n')) {
        buf.push(b'"');
        for b in s.bytes() {
            if b == b'"' {
                buf.push(b'"');
            }
            buf.push(b);
        }
        buf.push(b'"');
    } else {
        push_str(buf, s);
    }
}

fn push_date(buf: &mut Vec<u8>, (y, m, d): (u32, u32, u32), sep: &[u8]) {
    push_pad(buf, u64::from(y), 4);
    buf.extend_from_slice(sep);
    push_pad(buf, u64::from(m), 2);
    buf.extend_from_slice(sep);
    push_pad(buf, u64::from(d), 2);
}

fn push_hms(buf: &mut Vec<u8>, secs_of_day: u64) {
    push_pad(buf, secs_of_day / 3600, 2);
    buf.push(b':');
    push_pad(buf, secs_of_day / 60 % 60, 2);
    buf.push(b':');
    push_pad(buf, secs_of_day % 60, 2);
}

// ---------------------------------------------------------------------------
// Calendar (proleptic Gregorian, days since 1970-01-01)
// ---------------------------------------------------------------------------

fn days_from_civil(y: u32, m: u32, d: u32) -> u64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468) as u64
}

fn civil_from_days(days: u64) -> (u32, u32, u32) {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as u32, m as u32, d as u32)
}

fn days_in_month(y: u32, m: u32) -> u64 {
    let next = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    days_from_civil(next.0, next.1, 1) - days_from_civil(y, m, 1)
}

/// The household number of the `i`-th household: increasing, with gaps where
/// households have left the register.
fn household_no(seed: u64, i: u64) -> u64 {
    1_000_000 + 2 * i + (mix(seed ^ i) & 1)
}

fn random_household(rng: &mut Rng, seed: u64, households: u64) -> u64 {
    household_no(seed, rng.below(households))
}

// ---------------------------------------------------------------------------
// Vocabulary
// ---------------------------------------------------------------------------

/// Common surnames (several typical of Hokkaido) with their readings.
const SURNAMES: [(&str, &str); 30] = [
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"),
    ("山本", "ヤマモト"),
    ("中村", "ナカムラ"),
    ("小林", "コバヤシ"),
    ("加藤", "カトウ"),
    ("吉田", "ヨシダ"),
    ("山田", "ヤマダ"),
    ("佐々木", "ササキ"),
    ("山口", "ヤマグチ"),
    ("松本", "マツモト"),
    ("井上", "イノウエ"),
    ("木村", "キムラ"),
    ("林", "ハヤシ"),
    ("斎藤", "サイトウ"),
    ("清水", "シミズ"),
    ("山崎", "ヤマザキ"),
    ("森", "モリ"),
    ("池田", "イケダ"),
    ("橋本", "ハシモト"),
    ("阿部", "アベ"),
    ("石川", "イシカワ"),
    ("工藤", "クドウ"),
    ("菅原", "スガワラ"),
    ("千葉", "チバ"),
    ("成田", "ナリタ"),
];

/// Common given names, weighted towards older generations.
const GIVEN_NAMES: [(&str, &str); 30] = [
    ("花子", "ハナコ"),
    ("太郎", "タロウ"),
    ("一郎", "イチロウ"),
    ("和子", "カズコ"),
    ("幸子", "サチコ"),
    ("節子", "セツコ"),
    ("洋子", "ヨウコ"),
    ("恵子", "ケイコ"),
    ("京子", "キョウコ"),
    ("美智子", "ミチコ"),
    ("清", "キヨシ"),
    ("茂", "シゲル"),
    ("博", "ヒロシ"),
    ("勇", "イサム"),
    ("実", "ミノル"),
    ("進", "ススム"),
    ("正雄", "マサオ"),
    ("健一", "ケンイチ"),
    ("誠", "マコト"),
    ("修", "オサム"),
    ("隆", "タカシ"),
    ("弘子", "ヒロコ"),
    ("久美子", "クミコ"),
    ("由美子", "ユミコ"),
    ("明美", "アケミ"),
    ("翔太", "ショウタ"),
    ("陽子", "ヨウコ"),
    ("大輔", "ダイスケ"),
    ("直樹", "ナオキ"),
    ("真由美", "マユミ"),
];

/// How a district writes its block numbers.
#[derive(Clone, Copy)]
enum Blocks {
    /// "北12条東3丁目": 条 up to the first number, then a direction, then 丁目.
    JoDir(&'static str, u64),
    /// "菊水3条2丁目".
    Jo(u64),
    /// "青葉町5丁目".
    Chome(u64),
}

struct Ward {
    name: &'static str,
    /// First three digits of the ward's postal codes.
    postal: &'static [u64],
    districts: &'static [(&'static str, Blocks)],
}

/// Sapporo's ten wards with some of their real districts. Weights favour the
/// outer wards, where most households still need collection.
const WARDS: [(Ward, u32); 10] = [
    (
        Ward {
            name: "中央区",
            postal: &[60, 64],
            districts: &[
                ("北", Blocks::JoDir("西", 22)),
                ("南", Blocks::JoDir("西", 30)),
                ("宮の森", Blocks::Jo(4)),
                ("円山西町", Blocks::Chome(10)),
                ("伏見", Blocks::Chome(5)),
            ],
        },
        3,
    ),
    (
        Ward {
            name: "北区",
            postal: &[1, 2],
            districts: &[
                ("北", Blocks::JoDir("西", 40)),
                ("新琴似", Blocks::Jo(12)),
                ("屯田", Blocks::Jo(11)),
                ("篠路", Blocks::Jo(10)),
                ("麻生町", Blocks::Chome(9)),
                ("あいの里", Blocks::Jo(5)),
            ],
        },
        12,
    ),
    (
        Ward {
            name: "東区",
            postal: &[7, 65],
            districts: &[
                ("北", Blocks::JoDir("東", 50)),
                ("伏古", Blocks::Jo(14)),
                ("東苗穂", Blocks::Jo(15)),
                ("本町", Blocks::Jo(2)),
                ("北丘珠", Blocks::Jo(6)),
            ],
        },
        10,
    ),
    (
        Ward {
            name: "白石区",
            postal: &[3],
            districts: &[
                ("菊水", Blocks::Jo(9)),
                ("東札幌", Blocks::Jo(6)),
                ("北郷", Blocks::Jo(9)),
                ("川下", Blocks::Jo(5)),
                ("栄通", Blocks::Chome(20)),
            ],
        },
        6,
    ),
    (
        Ward {
            name: "豊平区",
            postal: &[62],
            districts: &[
                ("平岸", Blocks::Jo(23)),
                ("月寒東", Blocks::Jo(5)),
                ("福住", Blocks::Jo(3)),
                ("美園", Blocks::Jo(12)),
                ("西岡", Blocks::Jo(5)),
            ],
        },
        6,
    ),
    (
        Ward {
            name: "南区",
            postal: &[5, 61],
            districts: &[
                ("澄川", Blocks::Jo(6)),
                ("川沿", Blocks::Jo(18)),
                ("藤野", Blocks::Jo(6)),
                ("石山", Blocks::Jo(4)),
                ("簾舞", Blocks::Jo(6)),
                ("真駒内上町", Blocks::Chome(5)),
                ("定山渓温泉東", Blocks::Chome(4)),
            ],
        },
        20,
    ),
    (
        Ward {
            name: "西区",
            postal: &[63],
            districts: &[
                ("琴似", Blocks::Jo(4)),
                ("発寒", Blocks::Jo(14)),
                ("西町北", Blocks::Chome(20)),
                ("山の手", Blocks::Jo(7)),
                ("八軒", Blocks::Jo(10)),
                ("平和", Blocks::Jo(3)),
            ],
        },
        8,
    ),
    (
        Ward {
            name: "厚別区",
            postal: &[4],
            districts: &[
                ("厚別中央", Blocks::Jo(6)),
                ("厚別東", Blocks::Jo(5)),
                ("厚別北", Blocks::Jo(6)),
                ("もみじ台北", Blocks::Chome(7)),
                ("青葉町", Blocks::Chome(16)),
            ],
        },
        7,
    ),
    (
        Ward {
            name: "手稲区",
            postal: &[6],
            districts: &[
                ("手稲本町", Blocks::Jo(6)),
                ("前田", Blocks::Jo(15)),
                ("星置", Blocks::Jo(9)),
                ("富丘", Blocks::Jo(6)),
                ("稲穂", Blocks::Jo(5)),
                ("曙", Blocks::Jo(12)),
            ],
        },
        14,
    ),
    (
        Ward {
            name: "清田区",
            postal: &[4],
            districts: &[
                ("清田", Blocks::Jo(10)),
                ("北野", Blocks::Jo(7)),
                ("平岡", Blocks::Jo(10)),
                ("美しが丘", Blocks::Jo(5)),
                ("真栄", Blocks::Jo(5)),
            ],
        },
        14,
    ),
];

/// Remarks: mostly empty; some contain commas and double quotes.
const REMARKS: [(&str, u32); 13] = [
    ("", 110),
    ("高齢者世帯", 12),
    ("犬あり, 訪問時注意", 8),
    ("私道奥, ホース延長(30m)必要", 8),
    ("冬期間は除雪後に訪問", 10),
    ("不在時は裏口から作業可, 事後連絡不要", 6),
    ("便槽蓋破損, 修理依頼済み", 4),
    ("簡易水洗", 8),
    ("臭気苦情あり", 3),
    ("隣家と共用便槽, 世帯番号で按分", 3),
    ("玄関に\"くみ取り口\"の札あり, 駐車は道路側", 3),
    ("口座振替", 10),
    ("要電話連絡(訪問前日)", 7),
];

/// Household fields that operators edit.
const UPDATED_FIELDS: [&str; 5] = ["電話番号", "世帯人数", "くみ取り区分", "便槽容量", "備考"];

const TANK_LITRES: [u64; 6] = [540, 720, 900, 1080, 1440, 1800];

// ---------------------------------------------------------------------------
// Master data
// ---------------------------------------------------------------------------

/// Writes the household CSV; returns (households, bytes).
fn write_households(path: &Path, budget: u64, seed: u64, rng: &mut Rng) -> io::Result<(u64, u64)> {
    let mut sink = Sink::create(path)?;
    sink.put(CSV_HEADER.as_bytes())?;
    let last_from = days_from_civil(2024, 4, 1);
    let last_to = days_from_civil(2024, 9, 20);
    let ward_weights: Vec<(usize, u32)> = WARDS.iter().enumerate().map(|(i, w)| (i, w.1)).collect();
    let mut buf = Vec::with_capacity(512);
    let mut i = 0;
    loop {
        buf.clear();
        push_num(&mut buf, household_no(seed, i));
        buf.push(b',');

        let (sur, sur_kana) = *rng.pick(&SURNAMES);
        let (given, given_kana) = *rng.pick(&GIVEN_NAMES);
        push_str(&mut buf, sur);
        buf.push(b' ');
        push_str(&mut buf, given);
        buf.push(b',');
        push_str(&mut buf, sur_kana);
        buf.push(b' ');
        push_str(&mut buf, given_kana);
        buf.push(b',');

        let ward = &WARDS[rng.weighted(&ward_weights)].0;
        push_pad(&mut buf, *rng.pick(ward.postal), 3);
        buf.push(b'-');
        push_pad(&mut buf, rng.range(1, 899), 4);
        buf.push(b',');

        push_str(&mut buf, "札幌市");
        push_str(&mut buf, ward.name);
        let &(district, blocks) = rng.pick(ward.districts);
        push_str(&mut buf, district);
        match blocks {
            Blocks::JoDir(dir, max_jo) => {
                push_num(&mut buf, rng.range(1, max_jo));
                push_str(&mut buf, "条");
                push_str(&mut buf, dir);
                push_num(&mut buf, rng.range(1, 15));
                push_str(&mut buf, "丁目");
            }
            Blocks::Jo(max_jo) => {
                push_num(&mut buf, rng.range(1, max_jo));
                push_str(&mut buf, "条");
                push_num(&mut buf, rng.range(1, 6));
                push_str(&mut buf, "丁目");
            }
            Blocks::Chome(max) => {
                push_num(&mut buf, rng.range(1, max));
                push_str(&mut buf, "丁目");
            }
        }
        push_num(&mut buf, rng.range(1, 30));
        buf.push(b'-');
        push_num(&mut buf, rng.range(1, 25));
        buf.push(b',');

        push_str(&mut buf, "011-");
        push_num(&mut buf, rng.range(200, 999));
        buf.push(b'-');
        push_pad(&mut buf, rng.below(10_000), 4);
        buf.push(b',');

        let members = rng.weighted(&[(1u64, 35), (2, 35), (3, 15), (4, 10), (5, 4), (6, 1)]);
        push_num(&mut buf, members);
        buf.push(b',');
        push_str(&mut buf, rng.weighted(&[("定期", 88), ("臨時", 12)]));
        buf.push(b',');
        push_num(&mut buf, *rng.pick(&TANK_LITRES));
        buf.push(b',');
        push_date(
            &mut buf,
            civil_from_days(rng.range(last_from, last_to)),
            b"-",
        );
        buf.push(b',');
        push_str(
            &mut buf,
            rng.weighted(&[("一般", 80), ("減額", 12), ("免除", 8)]),
        );
        buf.push(b',');
        push_csv_field(&mut buf, rng.weighted(&REMARKS));
        buf.extend_from_slice(b"\r\n");

        sink.put(&buf)?;
        i += 1;
        if sink.written >= budget {
            break;
        }
    }
    Ok((i, sink.finish()?))
}

/// Writes the binary ledger of collections: 32-byte little-endian records in
/// date order.
fn write_ledger(
    path: &Path,
    budget: u64,
    households: u64,
    seed: u64,
    rng: &mut Rng,
) -> io::Result<u64> {
    let mut sink = Sink::create(path)?;
    let records = (budget / LEDGER_RECORD).max(1);
    let start = days_from_civil(2019, 4, 1);
    // About thirty collections a day, over at most about five and a half years.
    let span_days = (records / 30).clamp(1, 2000);
    let mut rec = [0u8; LEDGER_RECORD as usize];
    for r in 0..records {
        let (y, m, d) = civil_from_days(start + span_days * r / records);
        let ymd = y * 10_000 + m * 100 + d;
        let no = random_household(rng, seed, households) as u32;
        let litres = 18 * rng.range(2, 100) as u32;
        let fee = if rng.below(100) < 6 {
            0
        } else {
            litres / 18 * 150
        };
        let vehicle = rng.range(1, 12) as u16;
        let crew = rng.range(1, 40) as u16;
        let receipt = (r + 1) as u32;
        let method = rng.below(3) as u8;
        let status = u8::from(rng.below(50) == 0);
        let check = mix(u64::from(no) ^ (u64::from(ymd) << 32) ^ r) as u32;

        rec[0..4].copy_from_slice(&no.to_le_bytes());
        rec[4..8].copy_from_slice(&ymd.to_le_bytes());
        rec[8..12].copy_from_slice(&litres.to_le_bytes());
        rec[12..16].copy_from_slice(&fee.to_le_bytes());
        rec[16..18].copy_from_slice(&vehicle.to_le_bytes());
        rec[18..20].copy_from_slice(&crew.to_le_bytes());
        rec[20..24].copy_from_slice(&receipt.to_le_bytes());
        rec[24] = method;
        rec[25] = status;
        rec[26..28].copy_from_slice(&0u16.to_le_bytes());
        rec[28..32].copy_from_slice(&check.to_le_bytes());
        sink.put(&rec)?;
    }
    sink.finish()
}

/// Writes the small note file with the Japanese name.
fn write_note(path: &Path, households: u64, seed: u64) -> io::Result<u64> {
    let mut buf = Vec::with_capacity(NOTE_RESERVE as usize);
    push_str(&mut buf, "世帯台帳 メモ\r\n\r\n");
    push_str(
        &mut buf,
        "このフォルダーは kura demo 用に生成した架空のデータです。実在の人物・世帯とは関係ありません。\r\n",
    );
    push_str(
        &mut buf,
        "- households.csv: 世帯マスタ (UTF-8, CRLF, ヘッダー行あり)\r\n",
    );
    push_str(
        &mut buf,
        "- ledger.bin: くみ取り実績台帳 (32 バイト固定長, リトルエンディアン)\r\n",
    );
    push_str(&mut buf, "- empty.dat: 空ファイル\r\n");
    push_str(&mut buf, "世帯数: ");
    push_num(&mut buf, households);
    push_str(&mut buf, "\r\nシード: ");
    push_num(&mut buf, seed);
    push_str(&mut buf, "\r\n");
    let mut sink = Sink::create(path)?;
    sink.put(&buf)?;
    sink.finish()
}

// ---------------------------------------------------------------------------
// Logs
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Info,
    Warn,
    Error,
}

impl Level {
    fn random(rng: &mut Rng) -> Self {
        rng.weighted(&[(Level::Info, 85), (Level::Warn, 11), (Level::Error, 4)])
    }

    /// Padded to five characters so that messages line up.
    fn tag(self) -> &'static str {
        match self {
            Level::Info => "INFO ",
            Level::Warn => "WARN ",
            Level::Error => "ERROR",
        }
    }
}

/// Writes one month of a Windows-style system event log.
fn write_system_log(
    path: &Path,
    budget: u64,
    (year, month): (u32, u32),
    households: u64,
    seed: u64,
    rng: &mut Rng,
) -> io::Result<u64> {
    let mut sink = Sink::create(path)?;
    let first = days_from_civil(year, month, 1);
    let span = days_in_month(year, month) * 86_400;
    let mut buf = Vec::with_capacity(512);
    loop {
        buf.clear();
        let at = progress(span, sink.written, budget);
        push_date(&mut buf, civil_from_days(first + at / 86_400), b"-");
        buf.push(b' ');
        push_hms(&mut buf, at % 86_400);
        buf.push(b' ');
        let level = Level::random(rng);
        push_str(&mut buf, level.tag());
        buf.push(b' ');
        system_message(&mut buf, level, rng, households, seed);
        buf.extend_from_slice(b"\r\n");
        sink.put(&buf)?;
        if sink.written >= budget {
            break;
        }
    }
    sink.finish()
}

fn push_event(buf: &mut Vec<u8>, source: &str, id: u64) {
    push_str(buf, source);
    push_str(buf, " [");
    push_num(buf, id);
    push_str(buf, "] ");
}

fn system_message(buf: &mut Vec<u8>, level: Level, rng: &mut Rng, households: u64, seed: u64) {
    const SCM: &str = "Service Control Manager";
    const SYNC: &str = "KuraRegisterSync";
    const TIME: &str = "Microsoft-Windows-Time-Service";
    match level {
        Level::Info => match rng.below(8) {
            0 => {
                push_event(buf, SCM, 7036);
                push_str(
                    buf,
                    "Kura Register Sync サービスは 実行中 状態に移行しました。",
                );
            }
            1 => {
                push_event(buf, SCM, 7036);
                push_str(
                    buf,
                    "Kura Register Sync サービスは 停止 状態に移行しました。",
                );
            }
            2 => {
                push_event(buf, TIME, 37);
                push_str(
                    buf,
                    "タイム プロバイダー NtpClient は、ntp.kura.local から有効なタイム データを受信しています。",
                );
            }
            3 => {
                push_event(buf, "EventLog", 6013);
                push_str(buf, "システム起動後の経過時間は ");
                push_num(buf, rng.range(600, 5_000_000));
                push_str(buf, " 秒です。");
            }
            4 => {
                push_event(buf, "Tcpip", 4201);
                push_str(
                    buf,
                    "システムは、ネットワーク アダプター Intel(R) Ethernet Connection がネットワークに接続されていることを検出しました。",
                );
            }
            5 => {
                push_event(buf, SYNC, 1000);
                push_str(buf, "世帯台帳の夜間同期を完了しました。更新件数=");
                push_num(buf, rng.range(0, 400));
                push_str(buf, " 所要時間=");
                push_num(buf, rng.range(800, 90_000));
                push_str(buf, "ms");
            }
            6 => {
                push_event(buf, SYNC, 1001);
                push_str(buf, "世帯番号=");
                push_num(buf, random_household(rng, seed, households));
                push_str(buf, " の台帳差分を送信しました。");
            }
            _ => {
                push_event(buf, "Microsoft-Windows-WindowsUpdateClient", 19);
                push_str(
                    buf,
                    "インストールの成功: 次の更新プログラムが正常にインストールされました: KB50",
                );
                push_pad(buf, rng.below(100_000), 5);
            }
        },
        Level::Warn => match rng.below(4) {
            0 => {
                push_event(buf, "disk", 153);
                push_str(buf, "ディスク 1 の論理ブロック アドレス 0x");
                push_hex(buf, rng.below(1 << 32), 8);
                push_str(buf, " の IO 操作が再試行されました。");
            }
            1 => {
                push_event(buf, TIME, 129);
                push_str(
                    buf,
                    "NtpClient は、ドメイン ピアを検出できなかったため、時刻の同期元を設定できませんでした。",
                );
                push_num(buf, rng.range(15, 60));
                push_str(buf, " 分後に再試行します。");
            }
            2 => {
                push_event(buf, SYNC, 2001);
                push_str(buf, "世帯番号=");
                push_num(buf, random_household(rng, seed, households));
                push_str(buf, " の同期をスキップしました (他の端末で編集中)。");
            }
            _ => {
                push_event(buf, "volsnap", 36);
                push_str(
                    buf,
                    "ボリューム D: のシャドウ コピー記憶域の領域が不足しています。",
                );
            }
        },
        Level::Error => match rng.below(3) {
            0 => {
                push_event(buf, SCM, 7034);
                push_str(
                    buf,
                    "Kura Register Sync サービスは予期せぬ原因により終了しました。このサービスの強制終了は ",
                );
                push_num(buf, rng.range(1, 3));
                push_str(buf, " 回目です。");
            }
            1 => {
                push_event(buf, SCM, 7000);
                push_str(
                    buf,
                    "Kura Print Bridge サービスを、次のエラーが原因で開始できませんでした: サービスが時間内に開始要求または制御要求に応答しませんでした。",
                );
            }
            _ => {
                push_event(buf, SYNC, 3001);
                push_str(buf, "世帯番号=");
                push_num(buf, random_household(rng, seed, households));
                push_str(
                    buf,
                    " の台帳書き込みに失敗しました: アクセスが拒否されました。(0x80070005)",
                );
            }
        },
    }
}

/// Writes one day of the application log, covering office hours 06:00–22:00.
fn write_app_log(
    path: &Path,
    budget: u64,
    date: (u32, u32, u32),
    households: u64,
    seed: u64,
    rng: &mut Rng,
) -> io::Result<u64> {
    const START_MS: u64 = 6 * 3_600_000;
    const SPAN_MS: u64 = 16 * 3_600_000;
    let mut sink = Sink::create(path)?;
    let mut prefix = Vec::with_capacity(11);
    push_date(&mut prefix, date, b"-");
    prefix.push(b' ');
    let mut buf = Vec::with_capacity(1024);
    loop {
        buf.clear();
        let ms = START_MS + progress(SPAN_MS, sink.written, budget);
        buf.extend_from_slice(&prefix);
        push_hms(&mut buf, ms / 1000);
        buf.push(b'.');
        push_pad(&mut buf, ms % 1000, 3);
        buf.push(b' ');
        let level = Level::random(rng);
        push_str(&mut buf, level.tag());
        push_str(&mut buf, " [");
        match rng.below(10) {
            0 => push_str(&mut buf, "main"),
            1 => push_str(&mut buf, "scheduler"),
            _ => {
                push_str(&mut buf, "worker-");
                push_num(&mut buf, rng.range(1, 8));
            }
        }
        push_str(&mut buf, "] ");
        app_message(&mut buf, level, rng, households, seed);
        sink.put(&buf)?;
        if sink.written >= budget {
            break;
        }
    }
    sink.finish()
}

/// One application message including its line ending (errors may add a stack trace).
fn app_message(buf: &mut Vec<u8>, level: Level, rng: &mut Rng, households: u64, seed: u64) {
    match level {
        Level::Info => match rng.below(7) {
            0 | 1 => {
                let litres = 18 * rng.range(2, 100);
                push_str(
                    buf,
                    "CollectionService - くみ取り実績を登録しました 世帯番号=",
                );
                push_num(buf, random_household(rng, seed, households));
                push_str(buf, " 数量=");
                push_num(buf, litres);
                push_str(buf, "L 手数料=");
                push_num(buf, litres / 18 * 150);
                push_str(buf, "円");
            }
            2 => {
                push_str(buf, "RouteService - 収集ルートを確定しました ルート=");
                push_str(buf, WARDS[rng.below(WARDS.len() as u64) as usize].0.name);
                buf.push(b'-');
                push_pad(buf, rng.range(1, 12), 2);
                push_str(buf, " 件数=");
                push_num(buf, rng.range(5, 60));
            }
            3 => {
                push_str(buf, "HouseholdService - 世帯情報を照会しました 世帯番号=");
                push_num(buf, random_household(rng, seed, households));
            }
            4 => {
                push_str(buf, "HouseholdService - 世帯情報を更新しました 世帯番号=");
                push_num(buf, random_household(rng, seed, households));
                push_str(buf, " 項目=");
                let field = *rng.pick(&UPDATED_FIELDS);
                push_str(buf, field);
            }
            5 => {
                push_str(
                    buf,
                    "BillingService - 手数料納入通知書を作成しました 世帯番号=",
                );
                push_num(buf, random_household(rng, seed, households));
                push_str(buf, " 金額=");
                push_num(buf, 150 * rng.range(2, 100));
                push_str(buf, "円");
            }
            _ => {
                push_str(buf, "AuthService - ログインしました user=op");
                push_pad(buf, rng.range(1, 40), 3);
                push_str(buf, " 端末=KURA-PC");
                push_pad(buf, rng.range(1, 16), 2);
            }
        },
        Level::Warn => match rng.below(3) {
            0 => {
                push_str(buf, "AddressMatcher - 住所照合に失敗しました 世帯番号=");
                push_num(buf, random_household(rng, seed, households));
                push_str(buf, " 候補=");
                push_num(buf, rng.range(0, 4));
                push_str(buf, "件");
            }
            1 => {
                push_str(
                    buf,
                    "CollectionService - 便槽容量を超える数量が入力されました 世帯番号=",
                );
                push_num(buf, random_household(rng, seed, households));
                push_str(buf, " 数量=");
                push_num(buf, 18 * rng.range(101, 120));
                push_str(buf, "L 容量=");
                push_num(buf, *rng.pick(&TANK_LITRES));
                push_str(buf, "L");
            }
            _ => {
                push_str(buf, "DbPool - コネクションの取得に ");
                push_num(buf, rng.range(1_000, 9_999));
                push_str(buf, "ms かかりました");
            }
        },
        Level::Error => match rng.below(2) {
            0 => {
                push_str(
                    buf,
                    "DbPool - データベース接続がタイムアウトしました (30000ms) 再試行 ",
                );
                push_num(buf, rng.range(1, 3));
                push_str(buf, "/3 世帯番号=");
                push_num(buf, random_household(rng, seed, households));
                push_str(
                    buf,
                    "\r\nSystem.Data.SqlClient.SqlException (0x80131904): 実行タイムアウトの期限が切れました。\
                     操作完了前にタイムアウト期間が過ぎたか、またはサーバーが応答していません。\r\n\
                     \x20  場所 System.Data.SqlClient.SqlConnection.OnError(SqlException exception, Boolean breakConnection)\r\n\
                     \x20  場所 Kura.Register.Data.LedgerRepository.Insert(CollectionRecord record)\r\n\
                     \x20  場所 Kura.Register.Services.CollectionService.Register(Int32 householdNo)",
                );
            }
            _ => {
                push_str(
                    buf,
                    "PrintService - 印刷ジョブが失敗しました プリンター=\\\\KURA-SV01\\PRN-",
                );
                push_pad(buf, rng.range(1, 6), 2);
                push_str(buf, " エラー=0x");
                push_hex(buf, 0x8007_0000 | rng.below(0x100), 8);
            }
        },
    }
    buf.extend_from_slice(b"\r\n");
}

/// The small log file at the end of the long path.
fn deep_file_body(seed: u64, households: u64) -> Vec<u8> {
    let mut buf = Vec::with_capacity(256);
    let mut rng = Rng::stream(seed, 5);
    for (i, result) in ["一致", "一致", "住所表記ゆれ"].iter().enumerate() {
        push_str(&mut buf, "2024-03-29 23:0");
        push_num(&mut buf, i as u64);
        push_str(
            &mut buf,
            ":00.000 INFO  [migration] 旧システム照合 世帯番号=",
        );
        push_num(&mut buf, random_household(&mut rng, seed, households));
        push_str(&mut buf, " 結果=");
        push_str(&mut buf, result);
        push_str(&mut buf, "\r\n");
    }
    buf
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// A unique scratch directory, removed on drop.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(tag: &str) -> Self {
            static COUNTER: AtomicU64 = AtomicU64::new(0);
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!(
                "kura-sample-{}-{}-{}",
                std::process::id(),
                tag,
                n
            ));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).expect("create scratch dir");
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// All regular files under `root`, as (relative path, contents), sorted.
    fn read_tree(root: &Path) -> Vec<(String, Vec<u8>)> {
        fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
            for entry in fs::read_dir(dir).expect("read_dir") {
                let path = entry.expect("dir entry").path();
                if path.is_dir() {
                    walk(root, &path, out);
                } else {
                    let rel = path
                        .strip_prefix(root)
                        .expect("under root")
                        .to_string_lossy()
                        .replace('\\', "/");
                    out.push((rel, fs::read(&path).expect("read file")));
                }
            }
        }
        let mut out = Vec::new();
        walk(root, root, &mut out);
        out.sort();
        out
    }

    /// Splits CSV text into records of fields, honouring quotes.
    fn parse_csv(text: &str) -> Vec<Vec<String>> {
        let mut records = Vec::new();
        let mut record = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if quoted {
                if c == '"' {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        field.push('"');
                    } else {
                        quoted = false;
                    }
                } else {
                    field.push(c);
                }
                continue;
            }
            match c {
                '"' => quoted = true,
                ',' => record.push(std::mem::take(&mut field)),
                '\r' => {}
                '\n' => {
                    record.push(std::mem::take(&mut field));
                    records.push(std::mem::take(&mut record));
                }
                _ => field.push(c),
            }
        }
        assert!(!quoted, "unterminated quote");
        assert!(
            field.is_empty() && record.is_empty(),
            "missing final newline"
        );
        records
    }

    fn spec(total_bytes: u64, seed: u64) -> SampleSpec {
        SampleSpec { total_bytes, seed }
    }

    #[test]
    fn same_seed_same_bytes() {
        let a = Scratch::new("det-a");
        let b = Scratch::new("det-b");
        let c = Scratch::new("det-c");
        let sa = generate(&a.0, &spec(300_000, 42)).expect("generate a");
        let sb = generate(&b.0, &spec(300_000, 42)).expect("generate b");
        generate(&c.0, &spec(300_000, 43)).expect("generate c");
        assert_eq!(sa, sb);
        let ta = read_tree(&a.0);
        assert_eq!(ta, read_tree(&b.0));
        assert_ne!(ta, read_tree(&c.0));
    }

    #[test]
    fn sizes_within_tolerance() {
        let dir = Scratch::new("size");
        let total = 2 << 20;
        let summary = generate(&dir.0, &spec(total, 7)).expect("generate");
        let tree = read_tree(&dir.0);
        assert_eq!(summary.files, tree.len() as u64);
        let bytes: u64 = tree.iter().map(|(_, c)| c.len() as u64).sum();
        assert_eq!(summary.bytes, bytes);
        assert!(
            bytes.abs_diff(total) <= total / 10,
            "total {bytes} too far from {total}"
        );
        let share = |prefix: &str| {
            let part: u64 = tree
                .iter()
                .filter(|(p, _)| p.starts_with(prefix))
                .map(|(_, c)| c.len() as u64)
                .sum();
            part * 100 / bytes
        };
        assert!((42..=48).contains(&share("data/master/")));
        assert!((17..=23).contains(&share("logs/system/")));
        assert!((32..=38).contains(&share("logs/app/")));
        let ledger = fs::metadata(dir.0.join("data/master/ledger.bin")).expect("ledger");
        assert_eq!(ledger.len() % LEDGER_RECORD, 0);
        assert!(ledger.len() > 0);
    }

    #[test]
    fn csv_is_well_formed() {
        let dir = Scratch::new("csv");
        generate(&dir.0, &spec(2 << 20, 11)).expect("generate");
        let text = fs::read_to_string(dir.0.join("data/master/households.csv")).expect("utf-8 csv");
        let records = parse_csv(&text);
        let header = &records[0];
        assert_eq!(header.len(), 12);
        assert_eq!(header[0], "世帯番号");
        assert_eq!(header[11], "備考");
        assert!(records.len() > 1000);
        let mut quoted_comma = 0;
        let mut quote_inside = 0;
        let mut empty_remark = 0;
        let mut last_no = 0u64;
        for r in &records[1..] {
            assert_eq!(r.len(), header.len(), "bad record {r:?}");
            let no: u64 = r[0].parse().expect("household number");
            assert!(no > last_no, "household numbers must increase");
            last_no = no;
            assert!(r[1].contains(' ') && r[2].contains(' '));
            assert!(r[2]
                .chars()
                .all(|c| c == ' ' || ('ァ'..='ヶ').contains(&c) || c == 'ー'));
            assert!(r[3].len() == 8 && r[3].as_bytes()[3] == b'-');
            assert!(r[4].starts_with("札幌市") && r[4].contains('区'));
            assert!(r[5].starts_with("011-") && r[5].len() == 12);
            assert!(r[7] == "定期" || r[7] == "臨時");
            assert_eq!(r[9].len(), 10);
            quoted_comma += usize::from(r[11].contains(','));
            quote_inside += usize::from(r[11].contains('"'));
            empty_remark += usize::from(r[11].is_empty());
        }
        assert!(quoted_comma > 0 && quote_inside > 0 && empty_remark > 0);
    }

    #[test]
    fn edge_case_files_exist() {
        let dir = Scratch::new("edge");
        generate(&dir.0, &spec(1 << 20, 3)).expect("generate");
        let empty = fs::metadata(dir.0.join("data/master/empty.dat")).expect("empty.dat");
        assert_eq!(empty.len(), 0);
        let note = fs::read_to_string(dir.0.join("data/master/台帳 メモ.txt")).expect("note");
        assert!(!note.is_empty());
        let tree = read_tree(&dir.0);
        let long = tree
            .iter()
            .find(|(p, _)| p.len() > 100)
            .expect("a relative path longer than 100 bytes");
        assert!(long.0.starts_with("logs/app/"));
        assert!(!long.1.is_empty());
        for (path, body) in &tree {
            if path.starts_with("logs/") {
                let text = std::str::from_utf8(body).expect("logs are UTF-8");
                assert!(text.ends_with("\r\n"));
                assert!(!text.contains("佐藤") && !text.contains("花子"));
            }
        }
        let systems = tree
            .iter()
            .filter(|(p, _)| p.starts_with("logs/system/System-"))
            .count();
        assert_eq!(systems, SYSTEM_MONTHS.len());
        assert!(tree.iter().any(|(p, _)| p == "logs/app/app-20240921.log"));
    }

    #[test]
    fn tiny_sizes_still_have_everything() {
        let dir = Scratch::new("tiny");
        let summary = generate(&dir.0, &spec(0, 1)).expect("generate");
        assert_eq!(summary.files, 4 + SYSTEM_MONTHS.len() as u64 + APP_DAYS + 1);
        let text = fs::read_to_string(dir.0.join("data/master/households.csv")).expect("csv");
        assert_eq!(parse_csv(&text).len(), 2);
        let ledger = fs::metadata(dir.0.join("data/master/ledger.bin")).expect("ledger");
        assert_eq!(ledger.len(), LEDGER_RECORD);
        for (path, body) in read_tree(&dir.0) {
            if path.ends_with(".log") {
                assert!(!body.is_empty(), "{path} is empty");
            }
        }
    }

    #[test]
    fn calendar_round_trips() {
        for day in days_from_civil(2019, 1, 1)..days_from_civil(2026, 1, 1) {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2023, 2), 28);
        assert_eq!(days_in_month(2024, 12), 31);
    }
}
