/* randn.js: torch.Generator().manual_seed(seed) on the CPU, reproduced (live mode, issue 14).
 *
 * So that seed s drawn live is seed s precomputed: the start noise x_T of seed s is
 * `torch.randn((1, C, H, W), generator=torch.Generator().manual_seed(s))` (generate/core/sampling.py
 * `start_noise`, as diffusers' `randn_tensor` draws it), and DDPM's per-step noise continues that
 * same generator. This file is PyTorch 2.x's CPU algorithm, read from ATen:
 *
 *   core/MT19937RNGEngine.h          at::mt19937: the standard 32-bit Mersenne Twister; the seed is
 *                                    truncated to its low 32 bits (state[0] = seed & 0xffffffff), so
 *                                    manual_seed(s + 2**32) repeats manual_seed(s), and Python's
 *                                    negative seeds are taken modulo 2**64 first.
 *   CPUGeneratorImpl.cpp             random() = one mt19937 word; random64() = (word1 << 32) | word2;
 *                                    manual_seed also forgets the cached second normal (below).
 *   core/TransformationHelper.h      uniform_real<float>  = (word & (2**24 - 1)) * 2**-24   in [0, 1)
 *                                    uniform_real<double> = (random64() & (2**53 - 1)) * 2**-53
 *   native/cpu/DistributionTemplates.h  normal_kernel: for a contiguous float tensor of numel >= 16,
 *                                    `normal_fill`: numel float uniforms, then Box-Muller in place on
 *                                    blocks of 16 (`NormalFill16`; u1 = 1 - data[j], u2 = data[j + 8],
 *                                    j < 8: data[j] = r cos(theta), data[j + 8] = r sin(theta),
 *                                    r = sqrt(-2 log u1), theta = 2 pi u2, in float32); if numel is
 *                                    not a multiple of 16, the LAST 16 places get 16 fresh uniforms
 *                                    and are recomputed (overwriting a tail already transformed).
 *                                    For numel < 16: `normal_distribution<double>` per element, in
 *                                    doubles, with the generator's cache: u1, u2 = two double
 *                                    uniforms, r = sqrt(-2 log1p(-u2)), theta = 2 pi u1; it returns
 *                                    r cos(theta) and caches r sin(theta) for the generator's next
 *                                    scalar-path normal (which may come one call later, and survives
 *                                    any numel >= 16 call in between).
 *   native/cpu/avx_mathfun.h         x86-64 builds compile NormalFill16 with AVX2: theta = float(2 pi)
 *                                    * u2 in float, and log / sincos are `log256_ps` / `sincos256_ps`
 *                                    (Cephes polynomials), not libm. They are emulated below op by op.
 *
 * Float32 is emulated with doubles and Math.fround (exact for + - * / sqrt of floats) and a correctly
 * rounded fused multiply-add. Measured against torch 2.13.0 (x86-64 CPU wheel) in
 * tests/test_live_numerics.py: max |JS - torch| = 0 (bit for bit) for every seed and size tested,
 * both paths. A torch build without the AVX2 kernel (ARM, other SIMD) uses libm's logf/sinf/cosf
 * and a double theta instead, and differs from these values by up to ~2e-6.
 *
 * Notation:
 *   word        one 32-bit mt19937 output
 *   u, u1, u2   uniforms in [0, 1)
 *   r, theta    Box-Muller radius and angle (Box & Muller 1958): z1 = r cos(theta), z2 = r sin(theta)
 */
const N = 624, M = 397, MATRIX_A = 0x9908b0df;
const TWO_POW_32 = 4294967296;
const f32 = Math.fround;

/**
 * The low 32 bits of a seed as torch keeps them (at::mt19937 stores seed & 0xffffffff).
 * @param {number|bigint} seed  integer, -2**63 <= seed < 2**64 as torch allows; a Number above
 *   2**53 is not exact, pass a BigInt for those
 * @returns {number} uint32
 */
function seed32(seed) {
  if (typeof seed === "bigint") return Number(BigInt.asUintN(32, seed));
  if (!Number.isInteger(seed)) throw new TypeError(`seed ${seed}: expected an integer (Number or BigInt)`);
  return Number(BigInt.asUintN(32, BigInt(seed)));
}

/**
 * at::mt19937: the 32-bit Mersenne Twister (Matsumoto & Nishimura 1998), init_genrand seeding.
 */
class MT19937 {
  /** @param {number} seed uint32 */
  constructor(seed) {
    this.state = new Uint32Array(N);
    this.state[0] = seed >>> 0;
    for (let j = 1; j < N; j++) {
      const prev = this.state[j - 1] ^ (this.state[j - 1] >>> 30);
      this.state[j] = (Math.imul(1812433253, prev) + j) >>> 0;
    }
    this.left = 1;  // as at::mt19937: the first draw twists the whole state
    this.next = 0;
  }

  twistState() {
    const s = this.state;
    const twist = (u, v) => (((u & 0x80000000) | (v & 0x7fffffff)) >>> 1) ^ ((v & 1) ? MATRIX_A : 0);
    let k = 0;
    for (; k < N - M; k++) s[k] = s[k + M] ^ twist(s[k], s[k + 1]);
    for (; k < N - 1; k++) s[k] = s[k + M - N] ^ twist(s[k], s[k + 1]);
    s[N - 1] = s[M - 1] ^ twist(s[N - 1], s[0]);
    this.left = N;
    this.next = 0;
  }

  /** @returns {number} the next 32-bit word, uint32 */
  nextUint32() {
    if (--this.left <= 0) this.twistState();
    let y = this.state[this.next++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }
}

/**
 * torch.Generator().manual_seed(seed) on the CPU: its stream of uniforms and normals.
 */
class TorchGenerator {
  /** @param {number|bigint} seed as given to manual_seed */
  constructor(seed) {
    this.engine = new MT19937(seed32(seed));
    /** @type {number|null} CPUGeneratorImpl::next_double_normal_sample_ */
    this.nextDoubleNormal = null;
  }

  /** @returns {number} a float uniform in [0, 1): 24 bits of one word */
  uniformFloat() {
    return (this.engine.nextUint32() & 0xffffff) * 5.9604644775390625e-8;  // 2**-24
  }

  /** @returns {number} a double uniform in [0, 1): 53 bits of random64() */
  uniformDouble() {
    const hi = this.engine.nextUint32(), lo = this.engine.nextUint32();
    // (hi << 32 | lo) & (2**53 - 1) = (hi & 0x1fffff) * 2**32 + lo, exact in a double
    return ((hi & 0x1fffff) * TWO_POW_32 + lo) * 1.1102230246251565e-16;  // 2**-53
  }

  /** @returns {number} one normal from the scalar path: at::normal_distribution<double>(0, 1) */
  normalDouble() {
    if (this.nextDoubleNormal !== null) {
      const cached = this.nextDoubleNormal;
      this.nextDoubleNormal = null;
      return cached;
    }
    const u1 = this.uniformDouble();
    const u2 = this.uniformDouble();
    const r = Math.sqrt(-2.0 * Math.log1p(-u2));
    const theta = 2.0 * Math.PI * u1;
    this.nextDoubleNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /**
   * `torch.randn((n,), generator=g)` (float32): the same numbers for any shape of numel n.
   * @param {number} n numel
   * @returns {Float32Array}
   */
  randn(n) {
    if (!(Number.isInteger(n) && n >= 0)) throw new RangeError(`randn(${n}): n must be a whole number >= 0`);
    const data = new Float32Array(n);
    if (n < 16) {
      for (let i = 0; i < n; i++) data[i] = this.normalDouble();
      return data;
    }
    for (let i = 0; i < n; i++) data[i] = this.uniformFloat();
    for (let i = 0; i + 16 <= n; i += 16) boxMuller16(data, i);
    if (n % 16 !== 0) {  // the tail: 16 fresh uniforms over the last 16 places, recomputed
      for (let i = n - 16; i < n; i++) data[i] = this.uniformFloat();
      boxMuller16(data, n - 16);
    }
    return data;
  }

  /**
   * `torch.rand((n,), generator=g)` (float32).
   * @param {number} n numel
   * @returns {Float32Array}
   */
  rand(n) {
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = this.uniformFloat();
    return data;
  }
}

// ---- NormalFill16 as torch's x86-64 CPU build computes it (AVX2 + avx_mathfun.h) ----
// Emulated in float32: every intrinsic is one rounded float operation, and a multiply whose
// result feeds an add is one fused multiply-add (the compiler contracts _mm256_mul_ps +
// _mm256_add_ps into vfmadd; with these contractions the values are bit for bit torch's).
const F = new Float32Array(1), I = new Int32Array(F.buffer);
const bits = (x) => { F[0] = x; return I[0]; };
const fromBits = (i) => { I[0] = i; return F[0]; };

/**
 * fmaf(a, b, c): a * b + c rounded once to float32, for float32 a, b, c.
 * a * b is exact in a double (24 + 24 bits); the double sum s can round, which matters only when
 * s lands exactly halfway between two floats: then the sign of the lost part decides.
 */
function madd(a, b, c) {
  const p = a * b, s = p + c, r = f32(s);
  const v = s - r;
  if (v === 0 || f32(r + 2 * v) !== r + 2 * v) return r;  // s is a float, or not a tie
  const bv = s - p, lost = (p - (s - bv)) + (c - bv);  // TwoSum: s + lost = p + c exactly
  if (lost === 0) return r;
  return (lost > 0) === (v > 0) ? f32(r + 2 * v) : r;
}

// Cephes' constants as published (f32() rounds them to float32, as the reference does)
// eslint-disable-next-line no-loss-of-precision
const SQRTHF = f32(0.707106781186547524);
const LOG_P = [7.0376836292E-2, -1.1514610310E-1, 1.1676998740E-1, -1.2420140846E-1, 1.4249322787E-1,
  -1.6668057665E-1, 2.0000714765E-1, -2.4999993993E-1, 3.3333331174E-1].map(f32);
const LOG_Q1 = f32(-2.12194440e-4), LOG_Q2 = f32(0.693359375);
// eslint-disable-next-line no-loss-of-precision
const DP1 = f32(-0.78515625), DP2 = f32(-2.4187564849853515625e-4), DP3 = f32(-3.77489497744594108e-8);
const SIN_P = [-1.9515295891E-4, 8.3321608736E-3, -1.6666654611E-1].map(f32);
const COS_P = [2.443315711809948E-005, -1.388731625493765E-003, 4.166664568298827E-002].map(f32);
const FOPI = f32(1.27323954473516);
const TWO_PI = f32(2 * Math.PI);

/** log256_ps (Cephes logf) for x in (0, 1]. @param {number} x @returns {number} */
function logCephes(x) {
  const b = bits(x);
  let e = f32((b >>> 23) - 127 + 1);
  x = fromBits((b & ~0x7f800000) | 0x3f000000);  // mantissa in [0.5, 1)
  if (x < SQRTHF) { e = f32(e - 1); x = f32(f32(x - 1) + x); } else { x = f32(x - 1); }
  const z = f32(x * x);
  let y = LOG_P[0];
  for (let k = 1; k < 9; k++) y = madd(y, x, LOG_P[k]);
  y = f32(y * x);
  y = madd(y, z, f32(e * LOG_Q1));
  y = f32(y - f32(z * 0.5));
  x = f32(x + y);
  return madd(e, LOG_Q2, x);
}

/** sincos256_ps (Cephes sinf/cosf) for x >= 0. @param {number} x @returns {[number, number]} [sin, cos] */
function sincosCephes(x) {
  let j = Math.trunc(f32(x * FOPI));
  j = (j + 1) & ~1;
  const y = f32(j);
  const sinNegative = (j & 4) !== 0;
  const cosNegative = ((j - 2) & 4) === 0;
  const sinPoly = (j & 2) === 0;
  x = madd(y, DP1, x);
  x = madd(y, DP2, x);
  x = madd(y, DP3, x);
  const z = f32(x * x);
  let c = madd(COS_P[0], z, COS_P[1]);
  c = madd(c, z, COS_P[2]);
  c = f32(c * z);
  c = madd(c, z, -f32(z * 0.5));
  c = f32(c + 1);
  let s = madd(SIN_P[0], z, SIN_P[1]);
  s = madd(s, z, SIN_P[2]);
  s = f32(s * z);
  s = madd(s, x, x);
  const sine = sinPoly ? s : c, cosine = sinPoly ? c : s;
  return [sinNegative ? -sine : sine, cosNegative ? -cosine : cosine];
}

/**
 * NormalFill16 in float32: 8 Box-Muller pairs over data[at .. at + 16).
 * @param {Float32Array} data
 * @param {number} at
 */
function boxMuller16(data, at) {
  for (let j = at; j < at + 8; j++) {
    const u1 = f32(1 - data[j]);  // [0, 1) -> (0, 1] for the log
    const u2 = data[j + 8];
    const radius = f32(Math.sqrt(f32(-2 * logCephes(u1))));
    const theta = f32(TWO_PI * u2);
    const [sin, cos] = sincosCephes(theta);
    data[j] = f32(radius * cos);
    data[j + 8] = f32(radius * sin);
  }
}

export { MT19937, TorchGenerator, seed32, madd as fmaf }; // fmaf: scheduler.js (torch's fused kernels: linspace, lerp)
