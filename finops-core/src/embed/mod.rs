//! Embedders turn questions into vectors for the semantic caches. The embedded default is deterministic and
//! needs no model: accent-folded character n-grams hashed into a fixed number of dimensions, L2-normalised.
//! A host can plug a model (an OpenAI-compatible `/v1/embeddings` endpoint, or one written in Python or JS).

#[cfg(feature = "http-providers")]
mod openai;

#[cfg(feature = "http-providers")]
pub use openai::OpenAiEmbedder;

use crate::error::{Error, Result};

/// Turns texts into vectors of `dimensions()` floats.
#[async_trait::async_trait]
pub trait Embedder: Send + Sync + std::fmt::Debug {
    /// The embedder's name, part of the cache scope (two embedders never share entries).
    fn name(&self) -> &str;
    /// How many dimensions its vectors have.
    fn dimensions(&self) -> usize;
    /// One vector per text, in order.
    async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>>;
}

/// French and English words that carry no meaning for a financial question (accent-folded). Negations and
/// directions ("not", « pas », "up", « baisse ») are not among them: they change the question.
const STOP_WORDS: &[&str] = &[
    "a", "an", "the", "of", "to", "in", "on", "for", "at", "by", "with", "and", "or", "is", "are",
    "was", "were", "be", "been", "our", "we", "us", "my", "me", "i", "you", "your", "it", "its",
    "this", "that", "these", "those", "what", "which", "how", "did", "does", "do", "can", "could",
    "would", "should", "please", "tell", "show", "give", "about", "so", "le", "la", "les", "l",
    "de", "du", "des", "d", "un", "une", "et", "ou", "est", "sont", "au", "aux", "en", "nos",
    "notre", "nous", "mon", "ma", "mes", "vous", "votre", "vos", "je", "j", "ce", "cet", "cette",
    "ces", "quel", "quelle", "quels", "quelles", "comment", "que", "qu", "qui", "il", "elle", "se",
    "s", "sa", "son", "ses", "pour", "par", "sur", "dans", "avec", "stp", "svp", "peux", "pouvez",
    "donne", "donnez", "montre", "montrez", "moi",
];

/// The deterministic multilingual hashing embedder: character 3- and 4-grams of the accent-folded text without
/// French and English stop-words (so « rentabilité » and "rentabilite" meet, and "the"/« les » weigh nothing),
/// hashed with FNV-1a into `dimensions` buckets.
#[derive(Debug, Clone)]
pub struct HashingEmbedder {
    dimensions: usize,
}

impl Default for HashingEmbedder {
    fn default() -> Self {
        HashingEmbedder { dimensions: 256 }
    }
}

impl HashingEmbedder {
    /// `dimensions` between 8 and 4096.
    pub fn new(dimensions: usize) -> Result<Self> {
        if !(8..=4096).contains(&dimensions) {
            return Err(Error::invalid_argument(
                "dimensions",
                format!("{dimensions} is outside 8..=4096"),
            ));
        }
        Ok(HashingEmbedder { dimensions })
    }

    /// The vector of one text (all zeros for a text with no letters or digits).
    pub fn vector(&self, text: &str) -> Vec<f32> {
        let folded = crate::analysis::intent::fold(text);
        let content: Vec<&str> = folded
            .split(' ')
            .filter(|w| !STOP_WORDS.contains(w))
            .collect();
        let folded: Vec<char> = format!(" {} ", content.join(" ")).chars().collect();
        let mut v = vec![0f32; self.dimensions];
        for n in [3usize, 4] {
            for gram in folded.windows(n) {
                let mut h: u64 = 0xcbf2_9ce4_8422_2325;
                for c in gram {
                    for b in (*c as u32).to_le_bytes() {
                        h ^= u64::from(b);
                        h = h.wrapping_mul(0x0100_0000_01b3);
                    }
                }
                // usize::try_from cannot fail for a value below `dimensions`.
                let bucket = usize::try_from(h % self.dimensions as u64).unwrap_or(0);
                v[bucket] += 1.0;
            }
        }
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|x| *x /= norm);
        }
        v
    }
}

#[async_trait::async_trait]
impl Embedder for HashingEmbedder {
    fn name(&self) -> &str {
        "hashing"
    }

    fn dimensions(&self) -> usize {
        self.dimensions
    }

    async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>> {
        Ok(texts.iter().map(|t| self.vector(t)).collect())
    }
}

/// Cosine similarity of two vectors of the same length (0 when either is all zeros).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

/// Checks what an embedder returned: one vector per text, each of its declared length, all finite.
pub fn check(embedder: &dyn Embedder, texts: usize, vectors: &[Vec<f32>]) -> Result<()> {
    let bad = |reason: String| {
        Error::provider(
            embedder.name(),
            format!("embedder returned {reason}"),
            false,
        )
    };
    if vectors.len() != texts {
        return Err(bad(format!("{} vectors for {texts} texts", vectors.len())));
    }
    for (i, v) in vectors.iter().enumerate() {
        if v.len() != embedder.dimensions() {
            return Err(bad(format!(
                "a vector of {} dimensions at {i}, not {}",
                v.len(),
                embedder.dimensions()
            )));
        }
        if v.iter().any(|x| !x.is_finite()) {
            return Err(bad(format!("a non-finite value in vector {i}")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similar_questions_are_close_and_accents_do_not_matter() {
        let e = HashingEmbedder::default();
        let a = e.vector("Analyse la rentabilité du bistro");
        let b = e.vector("analyse la RENTABILITE du bistro !");
        let c = e.vector("Is our working capital getting tighter?");
        assert!(cosine(&a, &b) > 0.99);
        assert!(cosine(&a, &c) < 0.5);
        assert_eq!(e.vector("…").iter().filter(|x| **x != 0.0).count(), 0);
        assert_eq!(
            HashingEmbedder::new(3).unwrap_err().field(),
            Some("dimensions")
        );
    }

    #[test]
    fn vectors_are_checked() {
        let e = HashingEmbedder::new(8).unwrap();
        assert!(check(&e, 1, &[vec![0.0; 8]]).is_ok());
        assert!(check(&e, 2, &[vec![0.0; 8]]).is_err());
        assert!(check(&e, 1, &[vec![0.0; 7]]).is_err());
        assert!(check(&e, 1, &[vec![f32::NAN; 8]]).is_err());
    }
}
