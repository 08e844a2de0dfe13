//! Compressed files (gzip, zstd, bzip2, xz), told by their magic bytes as well as their
//! extension: decompressed as a stream, once per file and process, into the scratch
//! folder, where every engine, the row index and the workbench read them as a plain file.
//! The row index and `G` (jump to the last row) then work as on any file; the price is a
//! pass over the whole file at open, and its size again on disk until the process ends.

use std::io::Read;
use std::path::Path;

use crate::source::{Error, Result};

/// The compressions assay reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Gzip,
    Zstd,
    Bzip2,
    Xz,
}

/// Extensions of compressed files, with their codec.
const EXTENSIONS: &[(&str, Codec)] = &[
    ("gz", Codec::Gzip),
    ("zst", Codec::Zstd),
    ("zstd", Codec::Zstd),
    ("bz2", Codec::Bzip2),
    ("xz", Codec::Xz),
];

impl Codec {
    pub fn name(self) -> &'static str {
        match self {
            Codec::Gzip => "gzip",
            Codec::Zstd => "zstd",
            Codec::Bzip2 => "bzip2",
            Codec::Xz => "xz",
        }
    }

    /// The codec whose magic bytes `head` starts with.
    pub fn of_magic(head: &[u8]) -> Option<Codec> {
        if head.starts_with(&[0x1f, 0x8b]) {
            Some(Codec::Gzip)
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Codec::Zstd)
        } else if head.starts_with(b"BZh") && head.get(3).is_some_and(|d| (b'1'..=b'9').contains(d)) {
            Some(Codec::Bzip2)
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            Some(Codec::Xz)
        } else {
            None
        }
    }

    /// A stream of `input` decompressed.
    fn reader<'a>(self, input: impl Read + 'a) -> std::io::Result<Box<dyn Read + 'a>> {
        Ok(match self {
            Codec::Gzip => Box::new(flate2::read::MultiGzDecoder::new(input)),
            Codec::Zstd => Box::new(zstd::stream::read::Decoder::new(input)?),
            Codec::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(input)),
            Codec::Xz => Box::new(liblzma::read::XzDecoder::new_multi_decoder(input)),
        })
    }
}

/// `name` without a compression extension (`orders.csv.gz` -> `orders.csv`).
pub fn strip_extension(name: &str) -> &str {
    EXTENSIONS
        .iter()
        .find_map(|(ext, _)| {
            name.strip_suffix(ext).and_then(|rest| rest.strip_suffix('.')).filter(|r| !r.is_empty())
        })
        .unwrap_or(name)
}

/// `path` itself when it is not compressed; else the plain file decompressed from it in
/// the scratch folder (the same one for every call of the process while `path` is unchanged). A
/// damaged or cut-short stream is refused with the byte count it reached.
pub fn plain(path: &str) -> Result<String> {
    let mut head = [0u8; 6];
    let n = {
        let mut f = std::fs::File::open(path).map_err(|e| crate::error::io_error(path, &e))?;
        read_up_to(&mut f, &mut head).map_err(|e| crate::error::io_error(path, &e))?
    };
    let Some(codec) = Codec::of_magic(&head[..n]) else {
        if let Some((ext, codec)) = EXTENSIONS.iter().find(|(e, _)| path.ends_with(&format!(".{e}"))) {
            return Err(Error::unreadable(format!(
                "{path}: named .{ext} but not {} data (its first bytes are not a {} header)",
                codec.name(),
                codec.name()
            )));
        }
        return Ok(path.to_string());
    };
    super::scratch_copy(path, "decompressed", "", |dir| {
        let file_name = Path::new(path).file_name().and_then(|n| n.to_str()).unwrap_or("data");
        let out = dir.join(strip_extension(file_name));
        let input = std::fs::File::open(path).map_err(|e| crate::error::io_error(path, &e))?;
        let mut counted = Counted { inner: std::io::BufReader::new(input), read: 0 };
        let mut reader = codec.reader(&mut counted).map_err(|e| damaged(path, codec, 0, &e))?;
        let mut file = std::fs::File::create(&out).map_err(|e| crate::error::io_error(out.display(), &e))?;
        let copied = std::io::copy(&mut reader, &mut file);
        drop(reader);
        if let Err(e) = copied {
            let _ = std::fs::remove_file(&out);
            return match e.kind() {
                std::io::ErrorKind::StorageFull | std::io::ErrorKind::FileTooLarge => {
                    Err(crate::error::io_error(out.display(), &e).into())
                }
                _ => Err(damaged(path, codec, counted.read, &e)),
            };
        }
        Ok(out)
    })
}

fn damaged(path: &str, codec: Codec, at: u64, e: &std::io::Error) -> Error {
    let why = if e.kind() == std::io::ErrorKind::UnexpectedEof {
        "the stream is cut short".to_string()
    } else {
        e.to_string()
    };
    Error::unreadable(format!("{path}: not a readable {} stream: {why} (near byte {at})", codec.name()))
}

fn read_up_to(f: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// A reader that counts the compressed bytes read, to say where a stream broke.
struct Counted<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn every_codec_is_told_by_its_bytes_and_read_back() {
        let text = b"a,b\n1,x\n2,y\n".repeat(1000);
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, bytes: Vec<u8>| {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            p.display().to_string()
        };
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&text).unwrap();
        let gz = gz.finish().unwrap();
        let zst = zstd::stream::encode_all(&text[..], 3).unwrap();
        let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        bz.write_all(&text).unwrap();
        let bz = bz.finish().unwrap();
        let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 1);
        xz.write_all(&text).unwrap();
        let xz = xz.finish().unwrap();
        for (name, bytes, codec) in [
            ("t.csv.gz", gz.clone(), Codec::Gzip),
            ("t.csv.zst", zst, Codec::Zstd),
            ("t.csv.bz2", bz, Codec::Bzip2),
            ("t.csv.xz", xz, Codec::Xz),
            ("no_extension", gz.clone(), Codec::Gzip),
        ] {
            assert_eq!(Codec::of_magic(&bytes), Some(codec), "{name}");
            let path = write(name, bytes);
            let out = plain(&path).unwrap();
            assert_eq!(std::fs::read(&out).unwrap(), text, "{name}");
            assert_eq!(out.ends_with(".csv"), name.contains(".csv"), "{out}");
            // Once per process.
            assert_eq!(plain(&path).unwrap(), out);
        }
        // Cut short, mislabelled, plain.
        let cut = write("cut.csv.gz", gz[..gz.len() / 2].to_vec());
        let e = plain(&cut).unwrap_err().to_string();
        assert!(e.contains("not a readable gzip stream") && e.contains("cut short"), "{e}");
        let fake = write("fake.csv.gz", text.clone());
        let e = plain(&fake).unwrap_err().to_string();
        assert!(e.contains("named .gz but not gzip data"), "{e}");
        let csv = write("plain.csv", text);
        assert_eq!(plain(&csv).unwrap(), csv);
        assert_eq!(strip_extension("orders.csv.gz"), "orders.csv");
        assert_eq!(strip_extension("orders.csv"), "orders.csv");
        assert_eq!(strip_extension(".gz"), ".gz");
    }
}
