//! The token sequence and the differentiated attention mask.
//!
//! Step i = 0 … STEPS−1 is time t − HISTORY + i. Token 2i is the state s_i, token 2i+1 the
//! action a_i (interleaved in time). The history — states of steps 0 … HISTORY and actions of
//! steps 0 … HISTORY−1 — is clean (noise level 0) and inpainted; every other token is planned.

/// What a token carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    State,
    Action,
}

/// Kind and time step of token `j`.
pub fn token(j: usize) -> (TokenKind, usize) {
    let kind = if j.is_multiple_of(2) {
        TokenKind::State
    } else {
        TokenKind::Action
    };
    (kind, j / 2)
}

/// Whether query token `q` may attend to key token `k` (docs/METHOD.md, "The model"):
/// states attend to all states and never to actions; actions attend to states and actions of
/// the same or earlier steps.
pub fn allowed(q: usize, k: usize) -> bool {
    let (qk, qt) = token(q);
    let (kk, kt) = token(k);
    match (qk, kk) {
        (TokenKind::State, TokenKind::State) => true,
        (TokenKind::State, TokenKind::Action) => false,
        (TokenKind::Action, _) => kt <= qt,
    }
}

/// The mask as an additive bias (row = query, column = key): 0 where allowed, `MASKED` where not.
/// Every row has at least one allowed key (itself), so softmax never sees an empty row.
pub fn mask_bias(tokens: usize) -> Vec<f32> {
    let mut m = vec![0.0f32; tokens * tokens];
    for q in 0..tokens {
        for k in 0..tokens {
            if !allowed(q, k) {
                m[q * tokens + k] = MASKED;
            }
        }
    }
    m
}

/// Additive bias of a forbidden query–key pair: exp underflows to exactly 0 in f32.
pub const MASKED: f32 = -1.0e9;

/// Whether state step `i` belongs to the clean history.
pub fn state_is_history(i: usize, history: usize) -> bool {
    i <= history
}
/// Whether action step `i` belongs to the clean history.
pub fn action_is_history(i: usize, history: usize) -> bool {
    i < history
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TOKENS;

    #[test]
    fn mask_matches_the_spec_table() {
        // Spelled out independently of `allowed`: interleaved s0 a0 s1 a1 …
        for q in 0..TOKENS {
            for k in 0..TOKENS {
                let q_state = q % 2 == 0;
                let k_state = k % 2 == 0;
                let expect = if q_state { k_state } else { k / 2 <= q / 2 };
                assert_eq!(allowed(q, k), expect, "q={q} k={k}");
            }
        }
        // A few named cases.
        assert!(allowed(0, 40)); // s_{t-4} sees s_{t+16}
        assert!(!allowed(0, 1)); // no state sees an action, even its own step's
        assert!(allowed(9, 8)); // a_t sees s_t
        assert!(allowed(9, 7)); // a_t sees a_{t-1}
        assert!(!allowed(9, 10)); // a_t does not see s_{t+1}
        assert!(!allowed(9, 11)); // nor a_{t+1}
        let bias = mask_bias(TOKENS);
        assert_eq!(bias.iter().filter(|&&b| b == 0.0).count(), {
            let states = TOKENS / 2;
            // states: all states; action i: (i+1) states + (i+1) actions
            states * states + (0..states).map(|i| 2 * (i + 1)).sum::<usize>()
        });
    }
}
