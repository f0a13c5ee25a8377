//! Random bytes for names nobody may guess (staging directories, output delimiters) and for
//! retry jitter, straight from the kernel's `getrandom(2)`.
//!
//! Not the `getrandom` crate: in a fully static glibc build it cannot find the libc function
//! (it looks it up with `dlsym`, which a static binary lacks), falls back to opening
//! `/dev/urandom`, and so fails in an empty root with "OS Error: 2". Calling the function the
//! static libc links in works everywhere the image runs (glibc ≥ 2.25, musl ≥ 1.1.20).

use std::io;

pub fn fill(buf: &mut [u8]) -> io::Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        let rest = &mut buf[filled..];
        // SAFETY: the pointer and length describe `rest`, which is valid for writes.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(io::Error::new(
                e.kind(),
                format!("no random bytes from the kernel: {e}"),
            ));
        }
        filled += n as usize;
    }
    Ok(())
}

/// `n` random bytes as lower-case hex.
pub fn hex(n: usize) -> io::Result<String> {
    let mut buf = vec![0u8; n];
    fill(&mut buf)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn fills_and_differs() {
        let (a, b) = (super::hex(16).unwrap(), super::hex(16).unwrap());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        let mut big = vec![0u8; 1 << 20];
        super::fill(&mut big).unwrap();
        assert!(big.iter().any(|&x| x != 0));
    }
}
