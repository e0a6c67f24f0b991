//! A bare-metal image for a Cortex-M4F: the firmware flow of docs/EMBEDDING.md with nothing
//! from std and no allocator. The model is in the image (64-byte aligned), the workspace and
//! the output are static arrays, and the entry point opens the model, checks the workspace,
//! generates once and evaluates. `.ci/test` builds it for `thumbv7em-none-eabihf` (an
//! undefined symbol, an allocator, a std function, a missing intrinsic, fails the link) and
//! runs it under QEMU's `mps2-an386` board (a Cortex-M4 with FPU):
//!
//! ```text
//! qemu-system-arm -M mps2-an386 -nographic -semihosting-config enable=on,target=native \
//!   -kernel target/thumbv7em-none-eabihf/debug/hdon-firmware-link
//! ```
//!
//! It prints its status and the N_POINTS outputs (each as the f32's bits in hex and as a
//! decimal) over semihosting, then exits through semihosting with the status as QEMU's exit
//! code (0 ok); `.ci/test` compares the outputs with `hdon run` on the host.
//!
//! Boot: `link.x` (the board's memory map) puts the vector table below at address 0: the
//! initial stack pointer (RAM's top) and `Reset`, which enables the FPU (CPACR), copies .data,
//! zeroes .bss and calls [`hdon_main`]; every other exception goes to [`hdon_fault`]. The
//! semihosting calls (`bkpt 0xab`) need an emulator or a debugger: without one they fault.

#![no_std]
#![no_main]

use hdon_runtime::{Model, NonFinite, Options};

/// Prints one line over semihosting (formatted into a stack buffer: no allocator; a longer
/// line is cut).
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::semihosting::print_line(format_args!($($arg)*))
    };
}

/// A byte array with the alignment the model file wants.
#[repr(C, align(64))]
struct Aligned<Bytes: ?Sized>(Bytes);

/// The model, in flash (the small HyperDeepONet of the runtime's firmware example: 16
/// sensors, d_y = 1, d_out = 1).
static MODEL_FILE: &Aligned<[u8]> =
    &Aligned(*include_bytes!("../../../runtime/examples/model.hdon"));

/// f32 count of the workspace (RAM reserved at link time); checked against the model.
const WORKSPACE_LEN: usize = 1024;

/// Query points per input function.
const N_POINTS: usize = 8;

/// Status of the last step, also printed and the exit code: 0 ok, 1 open failed, 2 workspace
/// too short, 3 generate failed, 4 eval failed (a panic exits with 101, a fault with 102).
/// Exported (`no_mangle`) for a debugger.
#[no_mangle]
static mut HDON_STATUS: u32 = u32::MAX;

/// The operator's output at the N_POINTS points, exported like [`HDON_STATUS`].
#[no_mangle]
static mut HDON_OUT: [f32; N_POINTS] = [0.0; N_POINTS];

/// The input function's values at its 16 sensors: i / 15.
fn sensors() -> [f32; 16] {
    core::array::from_fn(|i| i as f32 / 15.0)
}

/// The query points: k / (N_POINTS - 1), uniform on [0, 1].
fn points() -> [f32; N_POINTS] {
    core::array::from_fn(|k| k as f32 / (N_POINTS - 1) as f32)
}

/// One input function at N_POINTS points; `workspace` and `out` are the static buffers.
fn step(workspace: &mut [f32], out: &mut [f32; N_POINTS]) -> u32 {
    let opts = Options {
        verify_checksums: true,
        nonfinite: NonFinite::Reject,
    };
    let Ok(model) = Model::from_bytes_with(&MODEL_FILE.0, opts) else {
        return 1;
    };
    if model.workspace_len(1) > workspace.len() {
        return 2;
    }
    let Ok(mut target) = model.generate(&sensors(), workspace) else {
        return 3;
    };
    match target.eval(&points(), out) {
        Ok(()) => 0,
        Err(_) => 4,
    }
}

/// Reset's target: runs one step, publishes and prints its status and output, and exits with
/// the status.
#[no_mangle]
pub extern "C" fn hdon_main() -> ! {
    static mut WORKSPACE: [f32; WORKSPACE_LEN] = [0.0; WORKSPACE_LEN];
    // SAFETY: the only references ever made to WORKSPACE and HDON_OUT, taken once, and the
    // only write to HDON_STATUS: single-threaded, no interrupts.
    let (out_ptr, workspace_ptr) = (&raw mut HDON_OUT, &raw mut WORKSPACE);
    let (status, out) = unsafe {
        let out = &mut *out_ptr;
        let status = step(&mut *workspace_ptr, out);
        core::ptr::write_volatile(&raw mut HDON_STATUS, status);
        (status, out)
    };
    let what = match status {
        0 => "ok",
        1 => "open failed",
        2 => "workspace too short",
        3 => "generate failed",
        _ => "eval failed",
    };
    say!("hdon-firmware: status {status} ({what})");
    if status == 0 {
        for (k, (y, v)) in points().iter().zip(out.iter()).enumerate() {
            say!("out[{k}] y={y} bits=0x{:08x} value={v}", v.to_bits());
        }
    }
    semihosting::exit(status)
}

/// The handler of every exception but Reset (faults; nothing enables the others): says so and
/// exits with 102. Floating-point instructions with the FPU off would end here (a UsageFault
/// escalated to HardFault).
#[no_mangle]
pub extern "C" fn hdon_fault() -> ! {
    say!("hdon-firmware: fault exception");
    semihosting::exit(102)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    say!("hdon-firmware: {info}");
    semihosting::exit(101)
}

// The vector table (ARMv7-M: the initial SP, then the 15 system exceptions; no interrupt is
// enabled, so no entries for them) and the reset handler. Reset runs before any Rust code:
// the FPU must be on before the first floating-point instruction (the compiler may emit them
// anywhere for eabihf), and statics must hold their initial values.
core::arch::global_asm!(
    r#"
    .section .vector_table, "a", %progbits
    .p2align 2
    .global __VECTORS
__VECTORS:
    .word _stack_top
    .word Reset
    .word hdon_fault  /* NMI */
    .word hdon_fault  /* HardFault */
    .word hdon_fault  /* MemManage */
    .word hdon_fault  /* BusFault */
    .word hdon_fault  /* UsageFault */
    .word 0, 0, 0, 0
    .word hdon_fault  /* SVCall */
    .word hdon_fault  /* DebugMonitor */
    .word 0
    .word hdon_fault  /* PendSV */
    .word hdon_fault  /* SysTick */

    .section .text.Reset, "ax", %progbits
    .global Reset
    .type Reset, %function
    .thumb_func
Reset:
    /* CPACR (0xE000ED88): full access to CP10 and CP11, the FPU (bits 20..23). */
    ldr r0, =0xE000ED88
    ldr r1, [r0]
    orr r1, r1, #0x00F00000
    str r1, [r0]
    dsb
    isb
    /* .data: copy from its load address (_sidata) to _sdata.._edata (word aligned). */
    ldr r0, =_sdata
    ldr r1, =_edata
    ldr r2, =_sidata
.Ldata_loop:
    cmp r0, r1
    bhs .Ldata_done
    ldr r3, [r2], #4
    str r3, [r0], #4
    b .Ldata_loop
.Ldata_done:
    /* .bss: zero _sbss.._ebss (word aligned). */
    ldr r0, =_sbss
    ldr r1, =_ebss
    movs r2, #0
.Lbss_loop:
    cmp r0, r1
    bhs .Lbss_done
    str r2, [r0], #4
    b .Lbss_loop
.Lbss_done:
    bl hdon_main
    udf #0
    .ltorg
    .size Reset, . - Reset
"#
);

/// The two ARM semihosting calls the image needs (`bkpt 0xab`, operation in r0, argument in
/// r1; QEMU serves them with `-semihosting-config enable=on`).
mod semihosting {
    use core::fmt;

    /// SYS_WRITE0: write a NUL-terminated string to the console.
    const SYS_WRITE0: usize = 0x04;
    /// SYS_EXIT_EXTENDED: end the program, the argument a [reason, exit code] block.
    const SYS_EXIT_EXTENDED: usize = 0x20;
    /// The normal-exit reason; any other makes QEMU exit with 1.
    const ADP_STOPPED_APPLICATION_EXIT: usize = 0x20026;

    /// # Safety
    /// `arg` must be what operation `op` expects (a valid pointer for both used here).
    unsafe fn call(op: usize, arg: usize) -> usize {
        let ret;
        // SAFETY: the caller's; the host reads the memory at `arg` (the asm is not `nomem`).
        unsafe {
            core::arch::asm!("bkpt #0xab", inout("r0") op => ret, in("r1") arg,
                options(nostack, preserves_flags));
        }
        ret
    }

    /// A line being formatted, NUL-terminated when printed.
    struct Line {
        buf: [u8; 192],
        len: usize,
    }

    impl fmt::Write for Line {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            // Room for the newline and the NUL.
            let room = self.buf.len() - 2 - self.len;
            let n = s.len().min(room);
            self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
            self.len += n;
            if n < s.len() {
                Err(fmt::Error)
            } else {
                Ok(())
            }
        }
    }

    /// Formats `args`, adds a newline and writes the line (cut to the buffer if longer).
    pub fn print_line(args: fmt::Arguments<'_>) {
        let mut line = Line {
            buf: [0; 192],
            len: 0,
        };
        let _ = fmt::write(&mut line, args);
        line.buf[line.len] = b'\n';
        line.buf[line.len + 1] = 0;
        // SAFETY: a NUL-terminated string that outlives the call.
        unsafe {
            call(SYS_WRITE0, line.buf.as_ptr() as usize);
        }
    }

    /// Ends the program: QEMU exits with `code`.
    pub fn exit(code: u32) -> ! {
        let block = [ADP_STOPPED_APPLICATION_EXIT, code as usize];
        // SAFETY: the two-word parameter block SYS_EXIT_EXTENDED reads.
        unsafe {
            call(SYS_EXIT_EXTENDED, block.as_ptr() as usize);
        }
        // Only without an emulator or a debugger serving semihosting.
        loop {
            core::hint::spin_loop();
        }
    }
}
