//! Sailor's message cipher (sailor `lib/encryptor.js`): AES-256-CBC with
//! PKCS#7 padding, the key the SHA-256 of the password, the IV the 16 bytes
//! of the IV string, the same for every message. Protocol version 1 bodies
//! are the base64 text of the ciphertext, version 2 the raw bytes.

use aes::Aes256;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use sha2::{Digest, Sha256};

/// The cipher of one platform (`ELASTICIO_MESSAGE_CRYPTO_PASSWORD`, `_IV`).
#[derive(Clone)]
pub struct Cipher {
    key: [u8; 32],
    iv: [u8; 16],
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cipher(..)")
    }
}

impl Cipher {
    /// `iv` must be exactly 16 bytes, as Node's `createCipheriv` demands.
    pub fn new(password: &str, iv: &str) -> Result<Cipher, String> {
        let iv: [u8; 16] = iv
            .as_bytes()
            .try_into()
            .map_err(|_| format!("the IV must be 16 bytes, it is {}", iv.len()))?;
        Ok(Cipher {
            key: Sha256::digest(password.as_bytes()).into(),
            iv,
        })
    }

    pub fn encrypt(&self, plain: &[u8]) -> Vec<u8> {
        cbc::Encryptor::<Aes256>::new(&self.key.into(), &self.iv.into())
            .encrypt_padded_vec::<Pkcs7>(plain)
    }

    pub fn decrypt(&self, ciphertext: &[u8]) -> Result<Vec<u8>, String> {
        cbc::Decryptor::<Aes256>::new(&self.key.into(), &self.iv.into())
            .decrypt_padded_vec::<Pkcs7>(ciphertext)
            .map_err(|_| "the ciphertext does not decrypt (wrong key, IV or padding)".to_owned())
    }

    /// A protocol-1 body: base64 of the ciphertext.
    pub fn encrypt_v1(&self, plain: &[u8]) -> Vec<u8> {
        STANDARD.encode(self.encrypt(plain)).into_bytes()
    }

    /// Reads a body of `protocol_version` (1 when absent).
    pub fn decrypt_body(&self, body: &[u8], protocol_version: i64) -> Result<Vec<u8>, String> {
        if protocol_version < 2 {
            let text = std::str::from_utf8(body).map_err(|_| "a v1 body is base64 text")?;
            let bytes = STANDARD
                .decode(text.trim())
                .map_err(|e| format!("a v1 body is base64 text: {e}"))?;
            self.decrypt(&bytes)
        } else {
            self.decrypt(body)
        }
    }

    /// Decrypts a base64 string, as in an error message's `error` member.
    pub fn decrypt_base64(&self, text: &str) -> Result<Vec<u8>, String> {
        self.decrypt_body(text.as_bytes(), 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vector of the reference (sailor's own test values, checked
    /// against sailor's Encryptor).
    #[test]
    fn matches_sailors_encryptor() {
        let c = Cipher::new("testCryptoPassword", "iv=any16_symbols").expect("16 bytes");
        let key: String = c.key.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            key,
            "199c41243a183f4696aad0fbe4cf44490111bf9f73767aaa31016a9b6a1ec0d2"
        );
        assert_eq!(c.encrypt_v1(br#"{"body":{}}"#), b"eIMjKyih9h6irN4t/kLziw==");
        let raw: String = c
            .encrypt(br#"{"body":{}}"#)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(raw, "7883232b28a1f61ea2acde2dfe42f38b");
        assert_eq!(
            c.decrypt_body(b"eIMjKyih9h6irN4t/kLziw==", 1)
                .expect("decrypts"),
            br#"{"body":{}}"#
        );
    }

    #[test]
    fn refuses_a_wrong_iv_and_garbage() {
        assert!(Cipher::new("p", "short").is_err());
        let c = Cipher::new("p", "iv=any16_symbols").expect("16 bytes");
        assert!(c.decrypt_body(b"not base64!", 1).is_err());
        assert!(c.decrypt(&[1, 2, 3]).is_err());
    }
}
