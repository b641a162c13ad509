//! Per-key order across a failure: the rows of a batch go out in waves, the
//! n-th row of each key in wave n, and a wave starts only once every row of
//! the previous one was acknowledged. So no event of an order is sent before
//! the one before it is in Kafka: a row that fails holds back the rest of its
//! key (and the next batch starts again from it), instead of a later event
//! of the same order overtaking it — within a topic, or across topics
//! (`payment.updated` never before its `order.created`).
//!
//! A backlog of one event per order is one wave (the steady state and the
//! relay benchmark); only repeated keys in one batch cost round trips.

use std::collections::HashMap;

/// Indexes into `keys`, grouped into waves, each in the original order.
pub fn plan<K: std::hash::Hash + Eq>(keys: &[K]) -> Vec<Vec<usize>> {
    let mut seen: HashMap<&K, usize> = HashMap::new();
    let mut waves: Vec<Vec<usize>> = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let n = seen.entry(key).or_insert(0);
        if waves.len() <= *n {
            waves.push(Vec::new());
        }
        waves[*n].push(i);
        *n += 1;
    }
    waves
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_keys_are_one_wave() {
        assert_eq!(plan(&["a", "b", "c"]), vec![vec![0, 1, 2]]);
        assert!(plan::<&str>(&[]).is_empty());
    }

    #[test]
    fn the_nth_row_of_a_key_goes_in_wave_n() {
        let keys = ["7", "8", "7", "9", "7", "8"];
        assert_eq!(plan(&keys), vec![vec![0, 1, 3], vec![2, 5], vec![4]]);
    }

    #[test]
    fn every_row_once_and_per_key_order_kept() {
        let keys: Vec<u32> = (0..500).map(|i| (i * 7919) % 37).collect();
        let waves = plan(&keys);
        let mut all: Vec<usize> = waves.concat();
        all.sort();
        assert_eq!(all, (0..500).collect::<Vec<_>>());
        let wave_of = |i: usize| waves.iter().position(|w| w.contains(&i)).unwrap();
        for i in 0..500 {
            for j in i + 1..500 {
                if keys[i] == keys[j] {
                    assert!(wave_of(i) < wave_of(j));
                }
            }
        }
    }
}
