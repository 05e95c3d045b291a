//! Scalar values: the mysqld_exporter number mapping, boolean flags, Galera size strings.

/// Maps a global status or variable value to a number the way mysqld_exporter does, so the
/// series we export under its names carry the same values existing alerts expect.
///
/// - a number (integer, decimal, scientific such as `1.42823e-05`) maps to itself;
/// - `ON`/`YES` map to 1 and `OFF`/`NO` to 0 (any letter case);
/// - `Primary` maps to 1, `non-Primary` and `Disconnected` to 0 (any letter case), which is
///   what makes `wsrep_cluster_status` a usable gauge;
/// - anything else (free text such as `Synced`, addresses, `true`/`false`) is `None`.
///
/// Deliberate differences from mysqld_exporter, which applies one function to all of
/// `SHOW GLOBAL STATUS`: its extra cases for replication and binlog values (`disabled`,
/// `Connecting`, timestamps, `mysql-bin.000042` file suffixes) are not needed for wsrep data and
/// are left out; non-finite spellings (`NaN`, `inf`) are rejected, because no wsrep value is
/// ever one and exporting one would only hide a parsing problem.
///
/// Note that `18446744073709551615` (an unsigned `-1`, seen in `wsrep_cluster_conf_id` when
/// there is no Primary view) maps to `1.8446744073709552e19`, exactly as mysqld_exporter
/// exports it; use the typed accessors of [`super::WsrepStatus`] when the meaning matters.
pub fn status_value_as_f64(value: &str) -> Option<f64> {
    if value.eq_ignore_ascii_case("on")
        || value.eq_ignore_ascii_case("yes")
        || value.eq_ignore_ascii_case("primary")
    {
        return Some(1.0);
    }
    if value.eq_ignore_ascii_case("off")
        || value.eq_ignore_ascii_case("no")
        || value.eq_ignore_ascii_case("non-primary")
        || value.eq_ignore_ascii_case("disconnected")
    {
        return Some(0.0);
    }
    parse_finite_number(value)
}

/// A decimal or scientific number, finite only.
///
/// Rust's float grammar also accepts `inf`, `infinity` and `nan`; those are filtered out by
/// the finiteness check (a huge literal that overflows to infinity is rejected the same way).
fn parse_finite_number(value: &str) -> Option<f64> {
    let n: f64 = value.parse().ok()?;
    n.is_finite().then_some(n)
}

/// Reads an on/off flag: `ON`/`YES`/`TRUE` are true, `OFF`/`NO`/`FALSE` are false, in any
/// letter case; anything else is `None`.
///
/// Galera 4 reports `wsrep_flow_control_active` and `wsrep_flow_control_requested` as
/// `true`/`false` (seen in the captured fixtures), which mysqld_exporter cannot parse and
/// silently drops; server variables and most status flags use `ON`/`OFF`. One function reads
/// both so callers need not know which style a given variable uses.
pub fn bool_flag(value: &str) -> Option<bool> {
    const TRUE: [&str; 3] = ["on", "yes", "true"];
    const FALSE: [&str; 3] = ["off", "no", "false"];
    if TRUE.iter().any(|t| value.eq_ignore_ascii_case(t)) {
        Some(true)
    } else if FALSE.iter().any(|f| value.eq_ignore_ascii_case(f)) {
        Some(false)
    } else {
        None
    }
}

/// Parses a Galera size option such as `gcache.size` into bytes, accepting exactly the
/// spellings Galera 26.4 itself accepts, or `None`.
///
/// Galera reads these with `strtoll(s, .., 0)` followed by one optional unit letter, so (all
/// verified by starting a real node with each value, see the fixtures README):
///
/// - decimal `16777216`, hexadecimal `0x1000000` / `0X1000000`, and **octal** when the number
///   has a leading zero: `020M` is 16 MiB, and `08M` is rejected by Galera;
/// - one unit letter `K`, `M`, `G` or `T` in either case, binary multiples (`32M` made a
///   33554432-byte ring buffer); `2k` is 2048;
/// - no fractions (`1.5M` is refused with "Invalid value '1.5M' for integer type"), no
///   two-letter units (`16MB` refused), no space before the unit (`16 M` refused);
/// - surrounding whitespace is ignored (Galera displays ` 16M` as `16M`).
///
/// Negative sizes are `None` (Galera fails to start with them), and so is anything above
/// `i64::MAX` bytes, the largest value Galera's signed 64-bit parser can hold.
pub fn parse_galera_size(value: &str) -> Option<u64> {
    let s = value.trim();
    let s = s.strip_prefix('+').unwrap_or(s);

    // Split the number from an optional single unit letter at the end. A hexadecimal number
    // cannot end in K/M/G/T (they are not hex digits), so the split is unambiguous.
    let (number, shift) = match s.as_bytes().last()? {
        b'k' | b'K' => (&s[..s.len() - 1], 10),
        b'm' | b'M' => (&s[..s.len() - 1], 20),
        b'g' | b'G' => (&s[..s.len() - 1], 30),
        b't' | b'T' => (&s[..s.len() - 1], 40),
        _ => (s, 0),
    };

    let base_value = if let Some(hex) = number
        .strip_prefix("0x")
        .or_else(|| number.strip_prefix("0X"))
    {
        parse_digits(hex, 16)?
    } else if number.len() > 1 && number.starts_with('0') {
        parse_digits(&number[1..], 8)?
    } else {
        parse_digits(number, 10)?
    };

    let bytes = base_value.checked_mul(1u64 << shift)?;
    (bytes <= i64::MAX as u64).then_some(bytes)
}

/// Digits only (no sign, no whitespace), at least one, in the given radix.
fn parse_digits(digits: &str, radix: u32) -> Option<u64> {
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}
