//! Scripts that misbehave: each is stopped with a clear error and the pool keeps serving.

mod runtime_common;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use cadquery_lsp::runtime::WorkerPool;
use runtime_common::*;

const TIMEOUT: Duration = Duration::from_secs(2);

fn shared_pool() -> &'static WorkerPool {
    static POOL: OnceLock<WorkerPool> = OnceLock::new();
    POOL.get_or_init(|| pool(2, TIMEOUT))
}

#[test]
fn infinite_loop_times_out_and_pool_still_serves() {
    shared_pool();
    let t = Instant::now();
    let e = failed(
        shared_pool(),
        "import cadquery as cq\nwhile True:\n    pass\n",
    );
    assert_eq!(e.kind, "Timeout", "{e}");
    assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
    assert_serves(shared_pool());
}

#[test]
fn loop_that_swallows_the_alarm_is_killed() {
    // the worker's own alarm is caught by the script: the pool must kill the process
    let code = "import cadquery as cq\nwhile True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass\n";
    let e = failed(shared_pool(), code);
    assert_eq!(e.kind, "Timeout", "{e}");
    assert_serves(shared_pool());
}

#[test]
fn ten_gigabytes_hit_the_memory_limit() {
    let e = failed(
        shared_pool(),
        "import cadquery as cq\nblob = bytearray(10 * 1024**3)\nresult = cq.Workplane().box(1,1,1)\n",
    );
    assert_eq!((e.kind.as_str(), e.line), ("MemoryLimit", Some(2)), "{e}");
    // growing in steps rather than at once (untouched pages: fast even on a loaded machine)
    let e = failed(
        shared_pool(),
        "import numpy as np\nchunks = []\nfor i in range(40):\n    chunks.append(np.empty(256 * 1024**2, dtype=np.uint8))\n",
    );
    assert_eq!(e.kind, "MemoryLimit", "{e}");
    assert_serves(shared_pool());
}

#[test]
fn os_exit_is_a_crash_and_pool_still_serves() {
    let e = failed(shared_pool(), "import os\nos._exit(3)\n");
    assert_eq!(e.kind, "WorkerCrashed", "{e}");
    assert!(e.message.contains("code 3"), "{e}");
    assert_serves(shared_pool());
}

#[test]
fn segfault_is_a_crash_and_pool_still_serves() {
    let e = failed(shared_pool(), "import ctypes\nctypes.string_at(0)\n");
    assert_eq!(e.kind, "WorkerCrashed", "{e}");
    assert!(e.message.contains("SIGSEGV"), "{e}");
    assert_serves(shared_pool());
}

#[test]
fn hundred_megabytes_of_print_are_capped() {
    let code = "import cadquery as cq\nprint('x' * 100_000_000)\nfor i in range(100):\n    print('y' * 1_000_000)\nresult = cq.Workplane().box(1,1,1)\n";
    let b = built(shared_pool(), code);
    assert!(b.output.len() <= 64 * 1024, "{}", b.output.len());
    assert!(b.output.starts_with("xxxx"));
    // and straight to the file descriptor, past Python's sys.stdout
    let code = "import os\nimport cadquery as cq\nos.write(1, b'z' * 100_000_000)\nos.write(2, b'w' * 10_000_000)\nresult = cq.Workplane().box(1,1,1)\n";
    let b = built(shared_pool(), code);
    assert_eq!(b.facts.volume.round(), 1.0);
    assert_serves(shared_pool());
}

#[test]
fn untrusted_open_and_import_are_refused_before_running() {
    // each script would loop forever if it ran (and end as a Timeout): Refused proves nothing ran
    let scripts = [
        (
            "import cadquery as cq\nwhile True: pass\nopen('/etc/passwd')\n",
            3,
        ),
        (
            "import cadquery as cq\nwhile True: pass\nos = __import__('os')\n",
            3,
        ),
        ("import os\nwhile True: pass\n", 1),
        (
            "import cadquery as cq\nwhile True: pass\nx = cq.__dict__\n",
            3,
        ),
        (
            "import cadquery as cq\nwhile True: pass\ncq.exporters.export(None, '/tmp/x')\n",
            3,
        ),
        ("import cadquery as cq\nwhile True: pass\nf = eval\n", 3),
        (
            "import cadquery as cq\nwhile True: pass\nx = getattr(cq, 'os')\n",
            3,
        ),
        ("from subprocess import run\n", 1),
    ];
    for (code, line) in scripts {
        let e = untrusted(shared_pool(), code).expect_err(code);
        assert_eq!(
            (e.kind.as_str(), e.line),
            ("Refused", Some(line)),
            "{e}: {code}"
        );
    }
    // canonical generated code passes
    let ok = "import cadquery as cq\nimport math\nwp = cq.Workplane(cq.Plane(cq.Vector(0, 0, 0), cq.Vector(1, 0, 0), cq.Vector(0, 0, 1)))\nloop0 = wp.moveTo(0, 0).lineTo(1, 0).lineTo(1, 1).close()\nsolid = wp.add(loop0).extrude(math.sqrt(4))\n";
    let b = untrusted(shared_pool(), ok).expect("canonical code runs");
    assert!((b.facts.volume - 1.0).abs() < 1e-9);
}

#[test]
fn untrusted_runtime_escape_is_blocked_by_restricted_builtins() {
    // passes the static check (no names it forbids) but the builtin is not there
    let e = untrusted(
        shared_pool(),
        "import cadquery as cq\nx = [c for c in (1,)]\nf = vars\n",
    )
    .expect_err("vars refused");
    assert_eq!(e.kind, "Refused", "{e}");
    let e = untrusted(shared_pool(), "import cadquery as cq\nhandle = type(1)\n")
        .expect_err("no type()");
    assert_eq!((e.kind.as_str(), e.line), ("NameError", Some(2)), "{e}");
}

#[test]
fn writes_outside_the_job_dir_are_refused_where_landlock_exists() {
    use cadquery_lsp::runtime::sandbox;
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("escaped.txt");
    let code = format!(
        "import cadquery as cq\nopen('inside.txt', 'w').write('ok')\nopen({:?}, 'w').write('no')\nresult = cq.Workplane().box(1,1,1)\n",
        target.display().to_string()
    );
    let r = exec(shared_pool(), &code);
    if !sandbox::landlock_available() {
        eprintln!("no Landlock here: write confinement not tested");
        return;
    }
    let e = r.expect_err("the write outside must fail");
    assert_eq!(
        (e.kind.as_str(), e.line),
        ("PermissionError", Some(3)),
        "{e}"
    );
    assert!(!target.exists());
}

#[test]
fn no_network_where_namespaces_exist() {
    use cadquery_lsp::runtime::sandbox::{self, NetIsolation};
    let code = "import socket\nsocket.create_connection(('1.1.1.1', 80), timeout=1)\n";
    let r = exec(shared_pool(), code);
    if sandbox::net_isolation(shared_pool().python()) == NetIsolation::None {
        eprintln!("no network namespace here: isolation not tested");
        return;
    }
    let e = r.expect_err("no route out of an empty network namespace");
    assert_eq!(e.line, Some(2), "{e}");
    assert!(e.kind.contains("Error"), "{e}");
}
