//! Counts the statements a piece of work runs: the edge middleware wraps
//! each request in [`counted`], and every statement sent through a connection
//! opened by [`crate::connect`] adds one to the count of the task it runs in.
//! Statements run by other tasks (the audit appender's batches, job workers)
//! are not the request's own and are not counted.

use std::cell::Cell;
use std::future::Future;

tokio::task_local! {
    static COUNT: Cell<u32>;
}

/// Runs `f`, answering its output and the statements it ran.
pub async fn counted<F: Future>(f: F) -> (F::Output, u32) {
    COUNT
        .scope(Cell::new(0), async move {
            let out = f.await;
            (out, COUNT.try_with(Cell::get).unwrap_or(0))
        })
        .await
}

/// One statement ran in the current task.
pub(crate) fn note() {
    let _ = COUNT.try_with(|c| c.set(c.get().saturating_add(1)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_belong_to_their_task() {
        let ((), n) = counted(async {
            note();
            note();
            // Another task's statements are its own.
            tokio::spawn(async { note() }).await.unwrap();
        })
        .await;
        assert_eq!(n, 2);
        // Outside any count nothing happens.
        note();
    }
}
