//! The nearest-neighbour index of one semantic scope, by cosine distance (`1 - cosine similarity`).
//!
//! With the `semantic` feature it is an HNSW graph (usearch): sub-linear search for the large tenants of a server.
//! Without it, an exact scan over the scope's vectors: no C++ to build, the same answers (exact, where HNSW is
//! approximate), and fast enough for the entries one device or one small tenant keeps.

use crate::error::{Error, Result};

fn index_error(e: impl std::fmt::Display) -> Error {
    Error::backend(crate::BackendKind::SemanticIndex, e.to_string(), false)
}

/// The nearest keys first, each with its cosine distance.
pub(super) type Neighbours = Vec<(u64, f32)>;

/// The index the semantic tiers use in this build.
#[cfg(feature = "semantic")]
pub(super) type VectorIndex = HnswIndex;
/// The index the semantic tiers use in this build.
#[cfg(not(feature = "semantic"))]
pub(super) type VectorIndex = ExactIndex;

/// usearch's HNSW graph, cosine metric.
#[cfg(feature = "semantic")]
pub(super) struct HnswIndex(usearch::Index);

#[cfg(feature = "semantic")]
impl HnswIndex {
    pub(super) fn new(dimensions: usize) -> Result<Self> {
        let options = usearch::IndexOptions {
            dimensions,
            metric: usearch::MetricKind::Cos,
            quantization: usearch::ScalarKind::F32,
            connectivity: 16,
            expansion_add: 128,
            expansion_search: 64,
            multi: false,
        };
        let index = usearch::Index::new(&options).map_err(index_error)?;
        index.reserve(64).map_err(index_error)?;
        Ok(HnswIndex(index))
    }

    pub(super) fn add(&mut self, key: u64, vector: &[f32]) -> Result<()> {
        if self.0.size() >= self.0.capacity() {
            self.0
                .reserve((self.0.capacity() * 2).max(64))
                .map_err(index_error)?;
        }
        self.0.add(key, vector).map_err(index_error)
    }

    pub(super) fn remove(&mut self, key: u64) -> Result<()> {
        self.0.remove(key).map(|_| ()).map_err(index_error)
    }

    pub(super) fn search(&self, vector: &[f32], count: usize) -> Result<Neighbours> {
        let found = self.0.search(vector, count).map_err(index_error)?;
        Ok(found.keys.into_iter().zip(found.distances).collect())
    }
}

/// Every vector of the scope, searched one by one (always compiled, so its tests run in every build).
#[cfg_attr(feature = "semantic", allow(dead_code))]
pub(super) struct ExactIndex {
    dimensions: usize,
    /// Each key with its vector scaled to unit length (a zero vector stays zero: similar to nothing).
    vectors: std::collections::HashMap<u64, Vec<f32>>,
}

#[cfg_attr(feature = "semantic", allow(dead_code))]
impl ExactIndex {
    pub(super) fn new(dimensions: usize) -> Result<Self> {
        if dimensions == 0 {
            return Err(index_error("an index needs at least one dimension"));
        }
        Ok(ExactIndex {
            dimensions,
            vectors: std::collections::HashMap::new(),
        })
    }

    fn check_dimensions(&self, vector: &[f32], what: &str) -> Result<()> {
        if vector.len() == self.dimensions {
            return Ok(());
        }
        Err(index_error(format!(
            "a {what} of {} dimensions in an index of {}",
            vector.len(),
            self.dimensions
        )))
    }

    pub(super) fn add(&mut self, key: u64, vector: &[f32]) -> Result<()> {
        self.check_dimensions(vector, "vector")?;
        let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        let unit = if norm > 0.0 && norm.is_finite() {
            vector.iter().map(|x| x / norm).collect()
        } else {
            vec![0.0; vector.len()]
        };
        self.vectors.insert(key, unit);
        Ok(())
    }

    pub(super) fn remove(&mut self, key: u64) -> Result<()> {
        self.vectors.remove(&key);
        Ok(())
    }

    pub(super) fn search(&self, vector: &[f32], count: usize) -> Result<Neighbours> {
        self.check_dimensions(vector, "query")?;
        let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        if !(norm > 0.0 && norm.is_finite()) {
            return Ok(Vec::new());
        }
        let mut found: Neighbours = self
            .vectors
            .iter()
            .map(|(key, v)| {
                let dot: f32 = v.iter().zip(vector).map(|(a, b)| a * b).sum();
                (*key, 1.0 - dot / norm)
            })
            .collect();
        // A full sort measured faster here than a partial selection of the `count` nearest (1.8 ms against
        // 2.6 ms per lookup among 10,000 entries: benches/RESULTS.md).
        found.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        found.truncate(count);
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    /// The same checks on the build's index (HNSW with `semantic`) and on the exact one.
    macro_rules! nearest_first {
        ($index:ty) => {{
            let mut index = <$index>::new(3).unwrap();
            index.add(1, &[1.0, 0.0, 0.0]).unwrap();
            index.add(2, &[0.7, 0.7, 0.0]).unwrap();
            index.add(3, &[0.0, 0.0, 1.0]).unwrap();
            let found = index.search(&[0.9, 0.1, 0.0], 3).unwrap();
            let keys: Vec<u64> = found.iter().map(|(k, _)| *k).collect();
            assert_eq!(keys, vec![1, 2, 3]);
            assert!(found[0].1 < 0.01, "{found:?}");
            assert!((found[2].1 - 1.0).abs() < 1e-4, "{found:?}");
            index.remove(1).unwrap();
            let found = index.search(&[0.9, 0.1, 0.0], 1).unwrap();
            assert_eq!(found[0].0, 2);
        }};
    }

    #[test]
    fn the_nearest_vector_comes_first_and_removed_ones_never() {
        nearest_first!(VectorIndex);
        nearest_first!(ExactIndex);
    }

    #[test]
    fn the_exact_index_refuses_other_dimensions_and_finds_nothing_for_a_zero_query() {
        let mut index = ExactIndex::new(3).unwrap();
        assert!(ExactIndex::new(0).is_err());
        assert!(index.add(1, &[1.0, 0.0]).is_err());
        index.add(1, &[1.0, 0.0, 0.0]).unwrap();
        assert!(index.search(&[1.0], 1).is_err());
        assert!(index.search(&[0.0, 0.0, 0.0], 1).unwrap().is_empty());
        assert!(index.search(&[1.0, 0.0, 0.0], 0).unwrap().is_empty());
    }

    proptest! {
        /// The partial selection gives exactly the first `count` of a full sort by distance (ties by key).
        #[test]
        fn the_exact_search_is_the_head_of_a_full_sort(
            vectors in proptest::collection::vec(proptest::collection::vec(-1.0f32..1.0, 4), 0..60),
            query in proptest::collection::vec(-1.0f32..1.0, 4),
            count in 0usize..70,
        ) {
            let mut index = ExactIndex::new(4).unwrap();
            for (key, v) in vectors.iter().enumerate() {
                index.add(key as u64, v).unwrap();
            }
            let found = index.search(&query, count).unwrap();
            let norm = query.iter().map(|x| x * x).sum::<f32>().sqrt();
            if norm <= 0.0 {
                prop_assert!(found.is_empty());
                return Ok(());
            }
            let mut all: Vec<(u64, f32)> = index
                .vectors
                .iter()
                .map(|(k, v)| (*k, 1.0 - v.iter().zip(&query).map(|(a, b)| a * b).sum::<f32>() / norm))
                .collect();
            all.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
            all.truncate(count);
            prop_assert_eq!(found, all);
        }
    }
}
