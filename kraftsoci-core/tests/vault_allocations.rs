//! How many heap allocations a seal and an open make (issue 17: none beyond the output).
//!
//! A binary of its own because it installs a counting global allocator. Counts are per thread,
//! so tests running in parallel do not disturb each other.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use kraftsoci_core::vault::{KeyRing, TokenContext, TokenPurpose, TokenVault};
use kraftsoci_core::{IgUserId, UserId};
use secrecy::{ExposeSecret as _, SecretString};

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

/// The system allocator, counting every allocation and reallocation of the current thread.
struct Counting;

fn count() {
    // `try_with`: the slot may already be gone while a thread is torn down.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every call is forwarded unchanged to the system allocator; counting touches only a
// const-initialised thread-local `Cell`, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which we pass on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: as above; `ptr` came from this allocator, i.e. from `System`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns its result with the allocations it made on this thread.
fn allocations_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATIONS.with(Cell::get);
    let out = f();
    (out, ALLOCATIONS.with(Cell::get) - before)
}

fn vault() -> TokenVault {
    TokenVault::new(KeyRing::generate().expect("os randomness"))
}

#[test]
fn sealing_allocates_only_the_sealed_bytes() {
    let vault = vault();
    let ig = IgUserId::parse("17841405822304914").unwrap();
    let context = TokenContext::instagram(UserId::new(), &ig);
    let token = SecretString::from(format!("EAAG{}", "mZ7qXr2Kb9Tc".repeat(16)));

    let (sealed, allocations) = allocations_during(|| vault.seal(&token, &context));

    assert!(sealed.is_ok());
    assert_eq!(allocations, 1, "one allocation: the output buffer");
}

#[test]
fn opening_allocates_only_the_returned_secret() {
    let vault = vault();
    let ig = IgUserId::parse("17841405822304914").unwrap();
    let context = TokenContext::instagram(UserId::new(), &ig);
    let sealed = vault
        .seal(&SecretString::from("EAAG-token"), &context)
        .unwrap();

    let (opened, allocations) = allocations_during(|| vault.open(&sealed, &context));

    assert_eq!(opened.unwrap().expose_secret(), "EAAG-token");
    assert_eq!(allocations, 1, "one allocation: the plaintext's buffer");
}

#[test]
fn a_refused_open_allocates_no_more_than_a_successful_one() {
    let vault = vault();
    let owner = UserId::new();
    let context = TokenContext::new(owner, TokenPurpose::InstagramAccess, "1784");
    let intruder = TokenContext::new(UserId::new(), TokenPurpose::InstagramAccess, "1784");
    let sealed = vault.seal(&SecretString::from("t"), &context).unwrap();

    let (refused, allocations) = allocations_during(|| vault.open(&sealed, &intruder));

    assert!(refused.is_err());
    assert!(allocations <= 1, "{allocations} allocations");
}

#[test]
fn only_an_unusually_long_subject_costs_one_more_allocation() {
    let vault = vault();
    let context = TokenContext::new(UserId::new(), TokenPurpose::MetaUserAccess, "s".repeat(500));
    let token = SecretString::from("EAAG-token");

    let (sealed, seal_allocations) = allocations_during(|| vault.seal(&token, &context));
    let sealed = sealed.unwrap();
    let (_, open_allocations) = allocations_during(|| vault.open(&sealed, &context));

    assert_eq!((seal_allocations, open_allocations), (2, 2));
}
