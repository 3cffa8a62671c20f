//! Standard input read without read-ahead. `std::io::stdin()` keeps what it read in an
//! 8 KiB buffer that lives as long as the process: a passphrase piped to a long-running
//! command (`agent --passphrase-stdin`, which `agent --detach` uses) would stay there
//! after `lock`. This reads the descriptor itself, one byte per `fill_buf`, so nothing is
//! held beyond the line a command asked for.

use std::fs::File;
use std::io::{BufRead, Read};

/// Standard input, unbuffered.
pub struct Input {
    file: Option<File>,
    byte: [u8; 1],
    held: bool,
}

impl Input {
    /// Standard input (a duplicate of its descriptor; reads fail if there is none).
    pub fn stdin() -> Self {
        #[cfg(unix)]
        let file = std::os::fd::AsFd::as_fd(&std::io::stdin())
            .try_clone_to_owned()
            .ok()
            .map(File::from);
        #[cfg(windows)]
        let file = std::os::windows::io::AsHandle::as_handle(&std::io::stdin())
            .try_clone_to_owned()
            .ok()
            .map(File::from);
        Self {
            file,
            byte: [0],
            held: false,
        }
    }

    fn file(&mut self) -> std::io::Result<&mut File> {
        self.file
            .as_mut()
            .ok_or_else(|| std::io::Error::other("no standard input"))
    }
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.held {
            buf[0] = self.byte[0];
            self.consume(1);
            return Ok(1);
        }
        self.file()?.read(buf)
    }
}

impl BufRead for Input {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if !self.held {
            let mut b = [0u8; 1];
            let n = self.file()?.read(&mut b)?;
            if n == 0 {
                return Ok(&[]);
            }
            self.byte = b;
            self.held = true;
        }
        Ok(&self.byte)
    }

    fn consume(&mut self, amt: usize) {
        if amt > 0 {
            self.held = false;
            self.byte = [0];
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn lines_are_read_without_read_ahead() {
        use std::io::{BufRead, Seek, Write};
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(b"first line\nsecond\n").unwrap();
        f.rewind().unwrap();
        let mut i = super::Input {
            file: Some(f.try_clone().unwrap()),
            byte: [0],
            held: false,
        };
        let mut line = String::new();
        i.read_line(&mut line).unwrap();
        assert_eq!(line, "first line\n");
        // The descriptor is exactly past the first line: nothing else was taken.
        assert_eq!(f.stream_position().unwrap(), 11);
        line.clear();
        i.read_line(&mut line).unwrap();
        assert_eq!(line, "second\n");
    }
}
