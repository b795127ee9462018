//! Normalisation and SHA-256 hashing of contact identifiers, as Meta's Conversions API specifies
//! for `user_data` (customer information parameters): `em` trimmed and lower-cased; `ph` digits
//! only, without leading zeros, with the country code. Hex digests are lower case.

use aws_lc_rs::digest;

/// Lower-case hex SHA-256 of `s`'s UTF-8 bytes.
pub fn sha256_hex(s: &str) -> String {
    let d = digest::digest(&digest::SHA256, s.as_bytes());
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// An email as Meta hashes it: leading and trailing spaces trimmed, every character lower case;
/// `None` when nothing is left or it has no `@`.
pub fn normalize_email(raw: &str) -> Option<String> {
    let e = raw.trim().to_lowercase();
    (e.contains('@') && !e.starts_with('@') && !e.ends_with('@')).then_some(e)
}

/// A phone number as Meta hashes it: symbols and letters removed, leading zeros removed, with
/// a country code. A number written internationally (`+49 …`, `0049 …`) keeps its own; a
/// national one (`0151 …`, `(650) 555-1212`) gets `country_code` (digits, e.g. `1`, `49`) after
/// its trunk zeros are dropped, and is refused (`None`) without one: Meta matches only numbers
/// with a country code.
pub fn normalize_phone(raw: &str, country_code: Option<&str>) -> Option<String> {
    let t = raw.trim();
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    let international = t.starts_with('+') || digits.starts_with("00");
    let national = digits.trim_start_matches('0');
    if national.is_empty() {
        return None;
    }
    let full = if international {
        national.to_string()
    } else {
        let cc = country_code?.trim_start_matches('0');
        if cc.is_empty() {
            return None;
        }
        format!("{cc}{national}")
    };
    (full.len() >= 7 && full.len() <= 15).then_some(full)
}

/// The hashed email, when the raw value is one.
pub fn hashed_email(raw: &str) -> Option<String> {
    normalize_email(raw).map(|e| sha256_hex(&e))
}

/// The hashed phone number, when the raw value normalises to one.
pub fn hashed_phone(raw: &str, country_code: Option<&str>) -> Option<String> {
    normalize_phone(raw, country_code).map(|p| sha256_hex(&p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_the_fips_180_vectors() {
        // FIPS 180-2 appendix B.1 ("abc") and the empty message.
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn emails_hash_as_in_metas_customer_information_parameters_page() {
        // Meta, "Customer Information Parameters", em: input John_Smith@gmail.com, normalized
        // john_smith@gmail.com, expected SHA256 62a14e44…0f62f (checked with Python's hashlib).
        assert_eq!(
            normalize_email("  John_Smith@gmail.com ").as_deref(),
            Some("john_smith@gmail.com")
        );
        assert_eq!(
            hashed_email("John_Smith@gmail.com").as_deref(),
            Some("62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f")
        );
        // Snap's Conversions API page, same rule: Person@Example.com → 542d2401…83345.
        assert_eq!(
            hashed_email("Person@Example.com").as_deref(),
            Some("542d240129883c019e106e3b1b2d3f3cb3537c43c425364de8e951d5a3083345")
        );
        assert_eq!(hashed_email("   "), None);
        assert_eq!(hashed_email("no-at-sign"), None);
    }

    #[test]
    fn phones_hash_as_in_metas_customer_information_parameters_page() {
        // Meta, ph: US phone number (650)555-1212 → 16505551212 → e323ec62…b3176.
        assert_eq!(
            normalize_phone("(650)555-1212", Some("1")).as_deref(),
            Some("16505551212")
        );
        assert_eq!(
            hashed_phone("(650)555-1212", Some("1")).as_deref(),
            Some("e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176")
        );
        // Snap's page: +44 844 412 4653 → 448444124653 → dc008fda…46383 (hashlib).
        assert_eq!(
            hashed_phone("+44 844 412 4653", Some("1")).as_deref(),
            Some("dc008fda46e2e64002cf2f82a4906236282d431c4f75e5b60bfe79fc48546383")
        );
        // International forms keep their own code; a national number drops its trunk zero.
        assert_eq!(
            normalize_phone("0049 151 2345678", None).as_deref(),
            Some("491512345678")
        );
        assert_eq!(
            normalize_phone("0151 2345678", Some("49")).as_deref(),
            Some("491512345678")
        );
        // Without a country code a national number cannot be matched: refused, not guessed.
        assert_eq!(normalize_phone("0151 2345678", None), None);
        assert_eq!(normalize_phone("n/a", Some("49")), None);
    }
}
