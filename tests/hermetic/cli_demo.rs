//! The newcomer's first command: `zoomsync demo` runs to the end with nothing set up.

use std::process::Command;

#[test]
fn demo_runs_to_the_end_and_tells_the_story() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_zoomsync")).arg("demo").current_dir(dir.path()).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    for expected in [
        "totals: create 46, update 0, reactivate 0, deactivate 0, delete 0, held 0, skipped 4",
        "title: Software Engineer -> Principal Engineer",
        "deactivate bokafor@example.com",
        "create     nnewcomer@example.com",
        "the target kept userName cmartin@example.com instead of chloe.martin@example.com",
        "GUARD: 17 deactivation(s)",
        "held 17",
        "groups: 2 read, 0 linked, 2 created, 0 renamed, 0 deleted, +21 -0 members, failed 0",
        "group_add     Zoom Developers                +1 members",
        // The leaver (locked, deactivated) leaves Zoom Phone Users in the same cycle.
        "group_remove  Zoom Phone Users               -1 members",
        // The 17 held leavers keep their groups (10 memberships) until approved.
        "10 removals withheld",
        "demo finished in",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "the demo writes nothing to disk");
}
