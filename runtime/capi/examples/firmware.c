/*
 * firmware.c - hdon in bare-metal C firmware for a Cortex-M4F: no libc, no allocator, every
 * buffer static. The model file is in the image (flash), 64-byte aligned; the program opens
 * it, generates the target net of one input function and evaluates it at N_POINTS points
 * through the no_std C library (hdon.h), then reports over semihosting and exits.
 *
 * Built for and run on QEMU's mps2-an386 board (a Cortex-M4 with FPU) by .ci/test, which
 * compares the outputs with the host's `hdon run` on the same inputs. By hand, from the repo
 * root (Debian: apt-get install gcc-arm-none-eabi qemu-system-arm):
 *
 *   cargo build -p hdon-capi --release --target thumbv7em-none-eabihf \
 *       --no-default-features --features panic-handler
 *   arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -O2 \
 *       -ffreestanding -nostdlib -Wall -Wextra -Werror -I runtime/capi \
 *       -DHDON_MODEL_PATH='"runtime/examples/model.hdon"' \
 *       -T runtime/capi/examples/mps2-an386.ld -Wl,--gc-sections -Wl,-z,noexecstack \
 *       runtime/capi/examples/firmware.c \
 *       target/thumbv7em-none-eabihf/release/libhdon.a -lgcc -o firmware.elf
 *   qemu-system-arm -M mps2-an386 -nographic -semihosting-config enable=on,target=native \
 *       -kernel firmware.elf
 *
 * It prints "hdon-firmware: status 0 (ok)" and one line per point, "out[k] bits=0x...
 * (~value)" (the output's f32 bits in hex, then the value to about 9 digits, which this
 * libc-free formatter does not round exactly), and exits with status 0 (with -DHDON_SYSTICK, after a line of instruction counts:
 * count_instructions below), or prints the failing step and hdon's status message and
 * exits with status 1. On a real board, replace the semihosting calls (which stop a CPU
 * without a debugger attached) with the board's UART, and copy .data from flash at reset.
 *
 * The model: runtime/examples/model.hdon, a HyperDeepONet with 16 sensors, d_y = 1,
 * d_out = 1. Input function u_i = i / 15 at its sensors; points y_k = k / 7.
 */
#include <stddef.h>
#include <stdint.h>

#include "hdon.h"

#ifndef HDON_MODEL_PATH
#error "define HDON_MODEL_PATH as the .hdon file's path in quotes: -DHDON_MODEL_PATH='\"m.hdon\"'"
#endif

/* The model file, in flash: the assembler copies it in (.incbin) on a 64-byte boundary, the
 * alignment that the format gives every tensor (the runtime needs 4). */
__asm__(".section .rodata.hdon_model, \"a\"\n"
        ".balign 64\n"
        ".global model_file\n"
        "model_file:\n"
        ".incbin \"" HDON_MODEL_PATH "\"\n"
        ".global model_file_end\n"
        "model_file_end:\n"
        ".previous\n");
extern const unsigned char model_file[], model_file_end[];

#define N_SENSORS 16
#define N_POINTS 8
/* f32 count; the program checks it against hdon_model_workspace_len at start-up. */
#define WS_LEN 1024

static hdon_model model;       /* 8 KiB, .bss */
static float workspace[WS_LEN]; /* the generated target net and scratch, .bss */
static float out[N_POINTS];

/* ---- semihosting (ARM DUI 0471): the debugger's, here QEMU's, console and exit ---------- */

static int semihost(int op, const void *arg) {
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

static void put(const char *s) { semihost(0x04, s); /* SYS_WRITE0 */ }

/* SYS_EXIT with ADP_Stopped_ApplicationExit: QEMU exits with status 0; any other reason
 * (ADP_Stopped_RunTimeErrorUnknown) gives status 1. */
static void __attribute__((noreturn)) stop(int ok) {
    semihost(0x18, (const void *)(uintptr_t)(ok ? 0x20026 : 0x20023));
    for (;;) {
    }
}

/* Appends `v` in hex (8 digits) or decimal to `p`; returns the new end. No printf here. */
static char *hex32(char *p, uint32_t v) {
    for (int s = 28; s >= 0; s -= 4) {
        *p++ = "0123456789abcdef"[(v >> s) & 15];
    }
    return p;
}

static char *dec(char *p, uint32_t v) {
    char t[10];
    int n = 0;
    do {
        t[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) {
        *p++ = t[--n];
    }
    return p;
}

/* A float with 9 significant digits, d.dddddddde[+-]x, to read (the scaling by 10 rounds: the
 * last digits may be off); the hex bits are what the check compares. */
static char *flt(char *p, float x) {
    if (x != x) {
        *p++ = 'n', *p++ = 'a', *p++ = 'n';
        return p;
    }
    if (x < 0) {
        *p++ = '-';
        x = -x;
    }
    int e = 0;
    uint32_t digits = 0; /* 9 of them: 100000000..999999999, or 0 */
    if (x != 0) {
        while (x >= 10.0f) x /= 10.0f, e++;
        while (x < 1.0f) x *= 10.0f, e--;
        digits = (uint32_t)(x * 1e8f + 0.5f);
        if (digits > 999999999u) { /* rounded up to 10 */
            digits /= 10;
            e++;
        }
    }
    char t[9];
    for (int i = 8; i >= 0; i--) {
        t[i] = (char)('0' + digits % 10);
        digits /= 10;
    }
    *p++ = t[0];
    *p++ = '.';
    for (int i = 1; i < 9; i++) *p++ = t[i];
    *p++ = 'e';
    *p++ = e < 0 ? '-' : '+';
    return dec(p, (uint32_t)(e < 0 ? -e : e));
}

static void __attribute__((noreturn)) fail(const char *step, int rc) {
    put("firmware: ");
    put(step);
    put(" failed: ");
    put(hdon_error_message(rc));
    put("\n");
    stop(0);
}

/* ---- the program ------------------------------------------------------------------------ */

#ifdef HDON_SYSTICK
/* With -DHDON_SYSTICK: SysTick counts of 10 generates and of 10 evals at 256 points, printed
 * after the outputs. Under `qemu-system-arm -icount shift=0` the virtual clock advances one
 * nanosecond per instruction, so the counts are instruction counts (over the board's 25 MHz
 * SysTick: one tick per 40): relative figures for comparing builds, not an M4's cycles. */
static void count_instructions(const float *u, hdon_target *target) {
    volatile uint32_t *systick = (volatile uint32_t *)0xE000E010; /* CTRL, LOAD, VAL */
    systick[1] = 0xFFFFFF;                                        /* 24-bit reload */
    systick[2] = 0;
    systick[0] = 5; /* enable, processor clock, no interrupt */
    static float y[256], o[256];
    for (int k = 0; k < 256; k++) y[k] = (float)k / 255.0f;
    uint32_t t0 = systick[2];
    for (int r = 0; r < 10; r++) hdon_generate(&model, u, N_SENSORS, workspace, WS_LEN, target);
    uint32_t t1 = systick[2];
    for (int r = 0; r < 10; r++) hdon_eval(target, y, 256, o, 256);
    uint32_t t2 = systick[2];
    char line[64], *p = line;
    p = dec(p, (t0 - t1) & 0xFFFFFF); /* the counter counts down */
    *p++ = ' ';
    p = dec(p, (t1 - t2) & 0xFFFFFF);
    *p++ = '\n';
    *p = 0;
    put("systick: 10 generates, 10 evals at 256 points: ");
    put(line);
}
#endif

static void run(void) {
    int rc = hdon_model_open(model_file, (size_t)(model_file_end - model_file), 1, &model);
    if (rc != HDON_OK) fail("hdon_model_open", rc);
    if (hdon_model_n_sensors(&model) != N_SENSORS || hdon_model_d_y(&model) != 1 ||
        hdon_model_d_out(&model) != 1) {
        put("firmware: the model is not the one this program was written for\n");
        stop(0);
    }
    if (hdon_model_workspace_len(&model, 1) > WS_LEN) {
        put("firmware: WS_LEN is shorter than the model's workspace\n");
        stop(0);
    }

    float u[N_SENSORS], y[N_POINTS];
    for (int i = 0; i < N_SENSORS; i++) u[i] = (float)i / 15.0f;
    for (int k = 0; k < N_POINTS; k++) y[k] = (float)k / 7.0f;

    hdon_target target;
    rc = hdon_generate(&model, u, N_SENSORS, workspace, WS_LEN, &target);
    if (rc != HDON_OK) fail("hdon_generate", rc);
    rc = hdon_eval(&target, y, N_POINTS, out, N_POINTS);
    if (rc != HDON_OK) fail("hdon_eval", rc);

    /* The lines of the Rust image (tests/firmware), read by the same check_qemu.py. */
    put("hdon-firmware: status 0 (ok)\n");
    for (int k = 0; k < N_POINTS; k++) {
        char line[64], *p = line;
        union {
            float f;
            uint32_t u;
        } bits = {out[k]};
        *p++ = 'o', *p++ = 'u', *p++ = 't', *p++ = '[';
        p = dec(p, (uint32_t)k);
        *p++ = ']', *p++ = ' ', *p++ = 'b', *p++ = 'i', *p++ = 't', *p++ = 's', *p++ = '=';
        *p++ = '0', *p++ = 'x';
        p = hex32(p, bits.u);
        *p++ = ' ', *p++ = '(', *p++ = '~';
        p = flt(p, out[k]);
        *p++ = ')', *p++ = '\n';
        *p = 0;
        put(line);
    }
#ifdef HDON_SYSTICK
    count_instructions(u, &target);
#endif
    stop(1);
}

/* ---- start-up: vector table, FPU, .bss ----------------------------------------------------
 * The linker script (mps2-an386.ld) puts `vectors` at address 0, where the core reads the
 * initial stack pointer and the reset handler. QEMU's ELF loader places .data at its address,
 * so there is nothing to copy here (a real board copies it from flash). */

extern uint32_t __stack_top, __bss_start, __bss_end;
void reset(void);

/* Any exception (a fault: none is expected) reports and stops with status 1. */
static void fault(void) {
    put("firmware: CPU fault\n");
    stop(0);
}

/* The initial stack pointer, then the reset handler and the 14 system exceptions. */
__attribute__((section(".vectors"), used)) static const void *const vectors[16] = {
    &__stack_top,       (const void *)reset, (const void *)fault, (const void *)fault,
    (const void *)fault, (const void *)fault, (const void *)fault, 0,
    0,                  0,                   0,                   (const void *)fault,
    (const void *)fault, 0,                   (const void *)fault, (const void *)fault,
};

/* Enables the FPU (CPACR: full access to CP10 and CP11) before any floating-point
 * instruction runs, zeroes .bss, and runs the program. In assembly, so that the compiler puts
 * no FP instruction before the enable. */
__asm__(".section .text.reset, \"ax\"\n"
        ".global reset\n"
        ".type reset, %function\n"
        ".thumb_func\n"
        "reset:\n"
        "  ldr r0, =0xE000ED88\n"
        "  ldr r1, [r0]\n"
        "  orr r1, r1, #(0xF << 20)\n"
        "  str r1, [r0]\n"
        "  dsb\n"
        "  isb\n"
        "  ldr r0, =__bss_start\n"
        "  ldr r1, =__bss_end\n"
        "  movs r2, #0\n"
        "1: cmp r0, r1\n"
        "  bhs 2f\n"
        "  str r2, [r0], #4\n"
        "  b 1b\n"
        "2: bl main_c\n"
        "  b .\n"
        ".ltorg\n"
        ".previous\n");

void main_c(void);
void main_c(void) { run(); }
