//! Randomness from the host (WASI `random`, a CSPRNG on Spin).

/// `N` random bytes.
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    let got = wasi::random::random::get_random_bytes(N as u64);
    out.copy_from_slice(&got[..N]);
    out
}
