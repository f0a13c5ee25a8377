//! Zip archives made in the tests: well-formed ones through the zip crate, hostile ones byte by
//! byte (the zip crate refuses to write most of what an attacker would).

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// A well-formed archive, the way upload-artifact makes them (deflate, unix modes).
#[derive(Default)]
pub struct ZipBuilder {
    entries: Vec<(String, Vec<u8>, Option<u32>, bool)>,
}

impl ZipBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn file(mut self, name: &str, content: impl AsRef<[u8]>) -> Self {
        self.entries
            .push((name.to_owned(), content.as_ref().to_vec(), None, false));
        self
    }

    pub fn file_mode(mut self, name: &str, content: impl AsRef<[u8]>, mode: u32) -> Self {
        self.entries.push((
            name.to_owned(),
            content.as_ref().to_vec(),
            Some(mode),
            false,
        ));
        self
    }

    pub fn dir(mut self, name: &str) -> Self {
        self.entries.push((name.to_owned(), Vec::new(), None, true));
        self
    }

    pub fn build(self) -> Vec<u8> {
        let mut w = ZipWriter::new(Cursor::new(Vec::new()));
        for (name, content, mode, is_dir) in self.entries {
            let mut opts =
                SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
            if let Some(m) = mode {
                opts = opts.unix_permissions(m);
            }
            if is_dir {
                w.add_directory(name, opts).expect("add dir");
            } else {
                w.start_file(name, opts).expect("start file");
                w.write_all(&content).expect("write");
            }
        }
        w.finish().expect("finish").into_inner()
    }
}

/// Shorthand for a zip of plain files.
pub fn zip_of(files: &[(&str, &str)]) -> Vec<u8> {
    files
        .iter()
        .fold(ZipBuilder::new(), |b, (n, c)| b.file(n, c))
        .build()
}

/// One entry of a hand-made archive. Every field is what goes into the headers, true or not.
#[derive(Clone, Debug)]
pub struct RawEntry {
    pub name: Vec<u8>,
    /// The bytes stored in the archive (already compressed when `method` is 8).
    pub data: Vec<u8>,
    pub method: u16,
    pub crc32: u32,
    pub compressed_size: u32,
    pub uncompressed_size: u32,
    pub flags: u16,
    /// Upper 16 bits of the external attributes when `unix` (the mode, with file type bits).
    pub unix_mode: Option<u32>,
}

impl RawEntry {
    /// A stored (uncompressed) entry with honest headers.
    pub fn stored(name: &str, content: &[u8]) -> RawEntry {
        RawEntry {
            name: name.as_bytes().to_vec(),
            data: content.to_vec(),
            method: 0,
            crc32: crc32(content),
            compressed_size: content.len() as u32,
            uncompressed_size: content.len() as u32,
            flags: 0,
            unix_mode: Some(0o100644),
        }
    }

    /// A deflated entry with honest headers.
    pub fn deflated(name: &str, content: &[u8]) -> RawEntry {
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(9));
        enc.write_all(content).expect("deflate");
        let data = enc.finish().expect("deflate");
        RawEntry {
            name: name.as_bytes().to_vec(),
            compressed_size: data.len() as u32,
            data,
            method: 8,
            crc32: crc32(content),
            uncompressed_size: content.len() as u32,
            flags: 0,
            unix_mode: Some(0o100644),
        }
    }

    pub fn symlink(name: &str, target: &str) -> RawEntry {
        RawEntry {
            unix_mode: Some(0o120777),
            ..RawEntry::stored(name, target.as_bytes())
        }
    }
}

/// Writes local headers, data and a central directory for `entries`, exactly as given.
pub fn raw_zip(entries: &[RawEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for e in entries {
        let offset = out.len() as u32;
        // Local file header.
        out.extend_from_slice(&0x04034b50u32.to_le_bytes());
        out.extend_from_slice(&20u16.to_le_bytes()); // version needed
        out.extend_from_slice(&e.flags.to_le_bytes());
        out.extend_from_slice(&e.method.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // time
        out.extend_from_slice(&0x21u16.to_le_bytes()); // date (1980-01-01)
        out.extend_from_slice(&e.crc32.to_le_bytes());
        out.extend_from_slice(&e.compressed_size.to_le_bytes());
        out.extend_from_slice(&e.uncompressed_size.to_le_bytes());
        out.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // extra length
        out.extend_from_slice(&e.name);
        out.extend_from_slice(&e.data);
        // Central directory header.
        central.extend_from_slice(&0x02014b50u32.to_le_bytes());
        let made_by: u16 = if e.unix_mode.is_some() {
            (3 << 8) | 20
        } else {
            20
        };
        central.extend_from_slice(&made_by.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes());
        central.extend_from_slice(&e.flags.to_le_bytes());
        central.extend_from_slice(&e.method.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&0x21u16.to_le_bytes());
        central.extend_from_slice(&e.crc32.to_le_bytes());
        central.extend_from_slice(&e.compressed_size.to_le_bytes());
        central.extend_from_slice(&e.uncompressed_size.to_le_bytes());
        central.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes()); // extra
        central.extend_from_slice(&0u16.to_le_bytes()); // comment
        central.extend_from_slice(&0u16.to_le_bytes()); // disk
        central.extend_from_slice(&0u16.to_le_bytes()); // internal attrs
        let external = e.unix_mode.map_or(0, |m| m << 16);
        central.extend_from_slice(&external.to_le_bytes());
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(&e.name);
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x06054b50u32.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// CRC-32 (IEEE), bitwise: slow and obviously right, which is what a test wants.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
