//! Verify: compare the SHA-256 computed while downloading with the artifact's `digest`.
//!
//! GitHub publishes `digest` as `sha256:<64 hex>` for artifacts uploaded since it started
//! computing them; older artifacts have `null`. The digest covers the blob exactly as served,
//! so it is compared with the hash of the downloaded bytes, never of extracted files.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest as _, Sha256};

/// A SHA-256 digest, parsed once from `sha256:<hex>` and compared as bytes, so upper- and
/// lower-case hex compare equal.
///
/// ```
/// use fetch_artifact::digest::Digest;
///
/// let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
/// let lower: Digest = format!("sha256:{empty}").parse().unwrap();
/// let upper: Digest = format!("sha256:{}", empty.to_uppercase()).parse().unwrap();
/// assert_eq!(lower, upper);
/// assert_eq!(lower.to_string(), format!("sha256:{empty}"));
/// assert!("md5:abc".parse::<Digest>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest([u8; 32]);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DigestParseError {
    #[error("digest `{0}` does not start with `sha256:` (the only algorithm GitHub uses)")]
    UnknownAlgorithm(String),
    #[error("digest `{0}` is not `sha256:` followed by 64 hex digits")]
    BadHex(String),
}

impl Digest {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Digest(bytes)
    }

    /// The lower-case hex form without the algorithm prefix.
    pub fn hex(&self) -> String {
        let mut out = String::with_capacity(64);
        for b in self.0 {
            out.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
            out.push(char::from_digit(u32::from(b & 0xf), 16).unwrap_or('0'));
        }
        out
    }
}

impl FromStr for Digest {
    type Err = DigestParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        let hex = match trimmed.split_once(':') {
            Some((alg, hex)) if alg.eq_ignore_ascii_case("sha256") => hex,
            _ => return Err(DigestParseError::UnknownAlgorithm(s.to_owned())),
        };
        let bad = || DigestParseError::BadHex(s.to_owned());
        if hex.len() != 64 {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        for (i, pair) in hex.as_bytes().chunks_exact(2).enumerate() {
            let hi = (pair[0] as char).to_digit(16).ok_or_else(bad)?;
            let lo = (pair[1] as char).to_digit(16).ok_or_else(bad)?;
            out[i] = (hi * 16 + lo) as u8;
        }
        Ok(Digest(out))
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Incremental SHA-256 over the bytes as they stream past.
///
/// `sha2` picks the SHA-NI / ARMv8 backend at run time through `cpufeatures`; nothing here
/// forces the portable one.
#[derive(Default)]
pub struct Hasher(Sha256);

impl Hasher {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    pub fn finish(self) -> Digest {
        Digest(self.0.finalize().into())
    }
}

/// What verification concluded about one download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// The computed digest equals the published one.
    Verified,
    /// GitHub published no digest (artifacts uploaded before digests existed).
    Unverifiable,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "digest mismatch for artifact `{artifact}`: GitHub says {expected}, the downloaded bytes hash to {actual}; \
     nothing was extracted and the destination is unchanged. The download may have been tampered with or \
     corrupted in transit: re-run this step, and if it persists, re-upload the artifact"
)]
pub struct DigestMismatch {
    pub artifact: String,
    pub expected: Digest,
    pub actual: Digest,
}

/// Compares the computed digest with the published one.
pub fn verify(
    artifact: &str,
    expected: Option<&Digest>,
    actual: &Digest,
) -> Result<Verification, DigestMismatch> {
    match expected {
        None => Ok(Verification::Unverifiable),
        Some(expected) if expected == actual => Ok(Verification::Verified),
        Some(expected) => Err(DigestMismatch {
            artifact: artifact.to_owned(),
            expected: *expected,
            actual: *actual,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn hashes_and_formats() {
        let d = Hasher::new().finish();
        assert_eq!(d.to_string(), format!("sha256:{EMPTY}"));
        assert_eq!(d.hex(), EMPTY);
    }

    #[test]
    fn parses_case_insensitively() {
        let lower: Digest = format!("sha256:{EMPTY}").parse().unwrap();
        let upper: Digest = format!("SHA256:{}", EMPTY.to_uppercase()).parse().unwrap();
        assert_eq!(lower, upper);
        assert_eq!(lower, Hasher::new().finish());
    }

    #[test]
    fn rejects_malformed() {
        assert!(matches!(
            EMPTY.parse::<Digest>(),
            Err(DigestParseError::UnknownAlgorithm(_))
        ));
        assert!(matches!(
            format!("md5:{EMPTY}").parse::<Digest>(),
            Err(DigestParseError::UnknownAlgorithm(_))
        ));
        assert!(matches!(
            "sha256:abcd".parse::<Digest>(),
            Err(DigestParseError::BadHex(_))
        ));
        let not_hex = format!("sha256:{}zz", &EMPTY[..62]);
        assert!(matches!(
            not_hex.parse::<Digest>(),
            Err(DigestParseError::BadHex(_))
        ));
        // A multi-byte char must not panic the byte-pair walk.
        let unicode = format!("sha256:é{}", &EMPTY[..62]);
        assert!(unicode.parse::<Digest>().is_err());
    }

    #[test]
    fn verify_outcomes() {
        let actual = Hasher::new().finish();
        let mut h = Hasher::new();
        h.update(b"x");
        let other = h.finish();
        assert_eq!(
            verify("a", Some(&actual), &actual),
            Ok(Verification::Verified)
        );
        assert_eq!(verify("a", None, &actual), Ok(Verification::Unverifiable));
        let err = verify("dist", Some(&other), &actual).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(&other.to_string()) && msg.contains(&actual.to_string()),
            "{msg}"
        );
    }
}
