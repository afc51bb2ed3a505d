//! The analysis's parallel kernels: vector arithmetic, work split over the
//! cores, the vertex merge in hash partitions, the edge census and the
//! bodies (union-find).

use super::*;

pub(super) fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

pub(super) fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

pub(super) fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

pub(super) fn f64s(p: [f32; 3]) -> [f64; 3] {
    [f64::from(p[0]), f64::from(p[1]), f64::from(p[2])]
}

/// Twice the area vector of a triangle.
pub(super) fn normal(v: &[[f32; 3]; 3]) -> [f64; 3] {
    let p0 = f64s(v[0]);
    cross(sub(f64s(v[1]), p0), sub(f64s(v[2]), p0))
}

/// A 64-bit finaliser (MurmurHash3's): every input bit reaches the top bits,
/// which choose the partition, and the next bits, which choose the slot.
pub(super) fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

pub(super) fn hash_cell(k: [u32; 3]) -> u64 {
    mix((u64::from(k[0]) | (u64::from(k[1]) << 32)) ^ u64::from(k[2]).wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// Small inputs are not worth a thread.
pub(super) fn threads_for(work: usize) -> usize {
    if work < 1 << 16 {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8)
    }
}

/// Runs `f` over `workers` inputs, one thread each (the first on the caller's
/// thread), and returns the results in order.
pub(super) fn run_all<I: Send, R: Send>(inputs: Vec<I>, f: impl Fn(I) -> R + Sync) -> Vec<R> {
    if inputs.len() <= 1 {
        return inputs.into_iter().map(&f).collect();
    }
    std::thread::scope(|s| {
        let f = &f;
        let mut it = inputs.into_iter();
        let first = it.next();
        let handles: Vec<_> = it.map(|i| s.spawn(move || f(i))).collect();
        let mut out: Vec<R> = first.into_iter().map(f).collect();
        for h in handles {
            out.push(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        out
    })
}

/// `f` over fixed chunks of `0..n`, results in chunk order whatever the
/// number of threads (so floating-point sums come out the same everywhere).
pub(super) fn map_chunks<R: Send>(
    n: usize,
    chunk: usize,
    threads: usize,
    f: impl Fn(Range<usize>) -> R + Sync,
) -> Vec<R> {
    let chunks = n.div_ceil(chunk);
    let next = AtomicUsize::new(0);
    let work = |_: usize| {
        let mut mine = Vec::new();
        loop {
            let c = next.fetch_add(1, Relaxed);
            if c >= chunks {
                break mine;
            }
            mine.push((c, f(c * chunk..((c + 1) * chunk).min(n))));
        }
    };
    let mut all: Vec<(usize, R)> = run_all((0..threads.min(chunks).max(1)).collect(), work)
        .into_iter()
        .flatten()
        .collect();
    all.sort_unstable_by_key(|(c, _)| *c);
    all.into_iter().map(|(_, r)| r).collect()
}

/// Contiguous, nearly equal ranges of `0..n`, one per thread.
pub(super) fn split(n: usize, threads: usize) -> Vec<Range<usize>> {
    (0..threads).map(|w| n * w / threads..n * (w + 1) / threads).collect()
}

/// Items of one thread's range, grouped by partition (`starts[p]..starts[p+1]`).
pub(super) struct Scattered {
    items: Vec<Item>,
    starts: Vec<usize>,
}

/// A point to merge: its grid cell and its index. Once deduplicated, the
/// first word holds its vertex id within the partition. Plain words, so the
/// buffer comes zeroed from the allocator instead of being written twice.
type Item = [u32; 4];

/// Scatters the items of the points of `src` into `1 << bits` partitions by
/// the top bits of their hash; each thread scatters its own range, in order,
/// so a partition read thread by thread sees its items in index order. The
/// partition of each item is remembered from the counting pass, so the hash
/// is computed once; the points are read twice (counting, then placing).
pub(super) fn scatter<S: Source>(
    src: &S,
    threads: usize,
    bits: u32,
    item: impl Fn(usize, [f32; 3]) -> Item + Sync,
    hash: impl Fn(&Item) -> u64 + Sync,
) -> Result<Vec<Scattered>, MeshError> {
    let parts = 1usize << bits;
    let part = |h: u64| if bits == 0 { 0 } else { (h >> (64 - bits)) as u8 };
    run_all(split(src.points(), threads), |range| {
        let mut starts = vec![0usize; parts + 1];
        let mut part_of: Vec<u8> = Vec::with_capacity(range.len());
        src.each_point(range.clone(), |i, p| {
            let pt = part(hash(&item(i, p)));
            part_of.push(pt);
            starts[usize::from(pt) + 1] += 1;
        })?;
        for p in 0..parts {
            starts[p + 1] += starts[p];
        }
        let mut fill = starts.clone();
        let mut items = vec![[0u32; 4]; range.len()];
        let mut next = part_of.iter();
        src.each_point(range, |i, p| {
            if let Some(&pt) = next.next() {
                let slot = &mut fill[usize::from(pt)];
                items[*slot] = item(i, p);
                *slot += 1;
            }
        })?;
        Ok(Scattered { items, starts })
    })
    .into_iter()
    .collect()
}

/// Hands out the partitions: each worker gets every `threads`-th partition,
/// as its slices from every thread's scatter, in thread order.
#[allow(clippy::type_complexity, reason = "a local shape, named by its use")]
pub(super) fn deal(scattered: &mut [Scattered], threads: usize) -> Vec<Vec<(usize, Vec<&mut [Item]>)>> {
    let parts = scattered.first().map_or(0, |s| s.starts.len() - 1);
    let mut per_part: Vec<Vec<&mut [Item]>> = (0..parts).map(|_| Vec::new()).collect();
    for s in scattered.iter_mut() {
        let mut rest: &mut [Item] = &mut s.items;
        for (list, bounds) in per_part.iter_mut().zip(s.starts.windows(2)) {
            let (here, tail) = rest.split_at_mut(bounds[1] - bounds[0]);
            list.push(here);
            rest = tail;
        }
    }
    let mut bins: Vec<Vec<(usize, Vec<&mut [Item]>)>> = (0..threads).map(|_| Vec::new()).collect();
    for (p, slices) in per_part.into_iter().enumerate() {
        bins[p % threads].push((p, slices));
    }
    bins
}

/// Partition bits for `n` items: a few thousand per partition, so that its
/// table fits in a core's cache, and at most 2^8 partitions, so that an
/// item's partition is remembered in one byte (a scan of 4 M triangles or
/// more gets larger tables instead).
pub(super) fn partition_bits(n: usize) -> u32 {
    (n / 8192).max(1).ilog2().min(8)
}

/// Merges the points of `src` on a grid of `eps` cells counted from `lo`.
/// Returns each point's vertex id and the number of vertices. Ids are given
/// in order of first appearance, as a single hash map would give them, so
/// that the union-find and the edge census that follow touch memory in the
/// order the file lists its triangles (neighbours in the file are usually
/// neighbours on the surface).
pub(super) fn merge<S: Source>(
    src: &S,
    lo: [f64; 3],
    eps: f64,
    threads: usize,
) -> Result<(Vec<AtomicU32>, usize), MeshError> {
    let n = src.points();
    let bits = partition_bits(n);
    let inv = 1.0 / eps;
    let item = |i: usize, p: [f32; 3]| {
        let p = f64s(p);
        // floor(x + 0.5) by truncation: `round` is a libm call on baseline
        // x86-64, and this runs for every point. Saturating casts: points of
        // the mesh no triangle uses may lie outside the bounds (cell 0 or the
        // last); the cell of a point in use never saturates.
        let c = |k: usize| ((p[k] - lo[k]) * inv + 0.5) as u32;
        [c(0), c(1), c(2), i as u32]
    };
    let hash = |it: &Item| hash_cell([it[0], it[1], it[2]]);
    let mut scattered = scatter(src, threads, bits, item, hash)?;
    let bins = deal(&mut scattered, threads);
    // Deduplicate each partition with a cache-sized open-addressing table,
    // noting the index of each vertex's first point.
    let deduplicated = run_all(bins, |bin| {
        let mut table: Vec<([u32; 3], u32)> = Vec::new();
        let mut done = Vec::with_capacity(bin.len());
        for (_, mut slices) in bin {
            let len: usize = slices.iter().map(|s| s.len()).sum();
            let size = (len * 2).next_power_of_two().max(16);
            let mask = size - 1;
            table.clear();
            table.resize(size, ([0; 3], u32::MAX));
            let mut firsts: Vec<u32> = Vec::new();
            for item in slices.iter_mut().flat_map(|s| s.iter_mut()) {
                let cell = [item[0], item[1], item[2]];
                let mut slot = (hash_cell(cell) << bits >> 32) as usize & mask;
                loop {
                    let (k, id) = &mut table[slot];
                    if *id == u32::MAX {
                        *k = cell;
                        *id = firsts.len() as u32;
                        firsts.push(item[3]);
                    }
                    if *k == cell {
                        item[0] = *id;
                        break;
                    }
                    slot = (slot + 1) & mask;
                }
            }
            // Kept until every partition is done: no room to spare.
            firsts.shrink_to_fit();
            done.push((firsts, slices));
        }
        done
    });
    // A vertex's id is the number of vertices whose first point comes
    // earlier: a bitmap of first points and running counts per word.
    let mut first = vec![0u64; n.div_ceil(64)];
    for (firsts, _) in deduplicated.iter().flatten() {
        for &i in firsts {
            first[i as usize / 64] |= 1 << (i % 64);
        }
    }
    let mut before = Vec::with_capacity(first.len());
    let mut count = 0u32;
    for w in &first {
        before.push(count);
        count += w.count_ones();
    }
    let rank = |i: u32| before[i as usize / 64] + (first[i as usize / 64] & ((1u64 << (i % 64)) - 1)).count_ones();
    let ids: Vec<AtomicU32> = (0..n).map(|_| AtomicU32::new(0)).collect();
    run_all(deduplicated, |bin| {
        for (firsts, slices) in bin {
            for item in slices.iter().flat_map(|s| s.iter()) {
                ids[item[3] as usize].store(rank(firsts[item[0] as usize]), Relaxed);
            }
        }
    });
    Ok((ids, count as usize))
}

/// Every undirected edge used by exactly two triangles (watertight), and
/// those used once in each direction (consistent winding). Each edge is
/// filed under its lower vertex (a counting sort), so the lists are short
/// and, with ids in order of appearance, close together in memory.
pub(super) fn edge_census<S: Source>(src: &S, ids: &[AtomicU32], count: usize) -> (bool, bool) {
    let tris = src.triangles();
    let sides = |t: usize| {
        let m = src.tri(t).map(|i| ids[i as usize].load(Relaxed));
        [(m[0], m[1]), (m[1], m[2]), (m[2], m[0])]
    };
    let mut starts = vec![0u32; count + 1];
    for t in 0..tris {
        for (a, b) in sides(t) {
            starts[a.min(b) as usize + 1] += 1;
        }
    }
    for v in 0..count {
        starts[v + 1] += starts[v];
    }
    // (higher << 1) | reversed; ids stay below 2^31 (checked by the caller).
    let mut fill = starts.clone();
    let mut other = vec![0u32; tris * 3];
    for t in 0..tris {
        for (a, b) in sides(t) {
            let slot = &mut fill[a.min(b) as usize];
            other[*slot as usize] = (a.max(b) << 1) | u32::from(a > b);
            *slot += 1;
        }
    }
    drop(fill);
    let (mut watertight, mut winding) = (tris > 0, tris > 0);
    for v in 0..count {
        let list = &mut other[starts[v] as usize..starts[v + 1] as usize];
        list.sort_unstable();
        let mut i = 0;
        while i < list.len() {
            let h = list[i] >> 1;
            let mut j = i + 1;
            while j < list.len() && list[j] >> 1 == h {
                j += 1;
            }
            if j - i != 2 {
                watertight = false;
            } else if h as usize != v && list[i] & 1 == list[i + 1] & 1 {
                winding = false;
            }
            i = j;
        }
    }
    (watertight, winding)
}

pub(super) fn find(parent: &mut [u32], mut x: u32) -> u32 {
    while parent[x as usize] != x {
        let p = parent[x as usize];
        parent[x as usize] = parent[p as usize];
        x = p;
    }
    x
}

/// Vertices in use, connected bodies, degenerate triangles. `norms` holds
/// each triangle's doubled area from the statistics (as `f32`); the few that
/// lie within a rounding of `tiny` are measured again from the source.
pub(super) fn bodies<S: Source>(
    src: &S,
    ids: &[AtomicU32],
    count: usize,
    tiny: f64,
    norms: &[f32],
) -> Result<(u64, u64, u64), MeshError> {
    let mut parent: Vec<u32> = (0..count as u32).collect();
    let mut used = vec![false; count];
    let mut degenerate = 0u64;
    for t in 0..src.triangles() {
        let m = src.tri(t).map(|i| ids[i as usize].load(Relaxed));
        if m[0] == m[1] || m[1] == m[2] || m[0] == m[2] {
            degenerate += 1;
        } else {
            let n = norms.get(t).copied().unwrap_or(f32::NAN);
            let n64 = f64::from(n);
            let zero_area = if n.is_normal() && (n64 - tiny).abs() > n64 * 1e-6 {
                n64 <= tiny
            } else if !n.is_normal() && n >= 0.0 && tiny >= 2.0 * f64::from(f32::MIN_POSITIVE) {
                // Zero or subnormal: the exact figure is below f32's smallest
                // normal, far below any tolerance of a real model.
                true
            } else {
                // Too close to call from the rounded figure: the exact one.
                let mut exact = f64::INFINITY;
                src.each_triangle(t..t + 1, |_, corners| {
                    let n = normal(&corners);
                    exact = dot(n, n).sqrt();
                })?;
                exact <= tiny
            };
            if zero_area {
                degenerate += 1;
            }
        }
        for &v in &m {
            used[v as usize] = true;
        }
        for (a, b) in [(m[0], m[1]), (m[1], m[2])] {
            let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
            // The later root joins the earlier: trees stay shallow when ids
            // follow the file's order.
            if ra < rb {
                parent[rb as usize] = ra;
            } else if rb < ra {
                parent[ra as usize] = rb;
            }
        }
    }
    let mut vertices = 0u64;
    let mut roots = 0u64;
    for v in 0..count as u32 {
        if used[v as usize] {
            vertices += 1;
            if find(&mut parent, v) == v {
                roots += 1;
            }
        }
    }
    Ok((vertices, roots, degenerate))
}
