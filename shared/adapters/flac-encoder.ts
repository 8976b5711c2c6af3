/**
 * In-process FLAC encoder for the split's chunks (16 kHz, mono, 16 bit). Pure: bytes in, bytes out.
 * Why it exists and what it was measured against: docs/decisions/in-process-flac-encoder.md.
 */
import { createHash } from 'node:crypto';

/** The only sample rate the encoder writes (the working copy's and every chunk's). */
export const FLAC_SAMPLE_RATE = 16_000;

/*
 * A small FLAC encoder (16 kHz, mono, 16 bit): fixed predictors of order 0–4 chosen per 4096-sample block,
 * Rice-coded residuals with per-partition parameters, CONSTANT subframes for digital silence, VERBATIM when
 * prediction does not pay. Compression is within a few percent of `flac -5` on speech.
 *
 * Why in-process and not ffmpeg: spawning ffmpeg costs ~50 ms per chunk, which for a cut-plan job (≤ 30 s
 * chunks, ~180 per hour) cost more than decoding the whole input; this runs at ~100× that speed per sample
 * and writes an exact STREAMINFO (total samples, MD5) that a piped ffmpeg cannot.
 * Format: https://xiph.org/flac/format.html (RFC 9639).
 */

const BLOCK = 4096;
const MAX_PARTITION_ORDER = 6;
const MAX_RICE_PARAM = 14;

/** Encode 16 kHz mono s16 samples as a complete FLAC file. */
export function encodeFlac16kMono(pcm: Int16Array): Uint8Array {
  const frames = Math.ceil(pcm.length / BLOCK);
  const w = new BitWriter(42 + pcm.length * 2 + frames * 24 + 16);
  w.bytes([0x66, 0x4c, 0x61, 0x43]); // "fLaC"
  w.put(0x80, 8); // last metadata block, type 0 = STREAMINFO
  w.put(34, 24);
  const streamInfoAt = w.pos;
  w.pos += 34; // written once frame sizes are known

  const residual = new Int32Array(BLOCK);
  let minFrame = Number.POSITIVE_INFINITY;
  let maxFrame = 0;
  for (let f = 0; f < frames; f++) {
    const from = f * BLOCK;
    const block = pcm.subarray(from, Math.min(from + BLOCK, pcm.length));
    const at = w.pos;
    writeFrame(w, block, f, residual);
    minFrame = Math.min(minFrame, w.pos - at);
    maxFrame = Math.max(maxFrame, w.pos - at);
  }
  const end = w.pos;

  w.pos = streamInfoAt;
  w.put(BLOCK, 16);
  w.put(BLOCK, 16);
  w.put(minFrame, 24);
  w.put(maxFrame, 24);
  w.put(FLAC_SAMPLE_RATE, 20);
  w.put(0, 3); // channels - 1
  w.put(15, 5); // bits per sample - 1
  w.put(Math.floor(pcm.length / 2 ** 32) & 0x0f, 4);
  w.put(pcm.length >>> 16, 16);
  w.put(pcm.length & 0xffff, 16);
  w.bytes(pcmMd5(pcm));
  return w.buf.slice(0, end); // a copy: the caller should not hold the worst-case-sized buffer
}

function writeFrame(w: BitWriter, x: Int16Array, frameNumber: number, residual: Int32Array): void {
  const n = x.length;
  const start = w.pos;
  w.put(0xfff8 >>> 2, 14); // sync
  w.put(0, 1); // reserved
  w.put(0, 1); // fixed block size
  w.put(n === BLOCK ? 0b1100 : 0b0111, 4); // 4096, or 16-bit (n - 1) after the frame number
  w.put(0b0101, 4); // 16 kHz
  w.put(0b0000, 4); // mono
  w.put(0b100, 3); // 16 bit
  w.put(0, 1);
  writeUtf8Number(w, frameNumber);
  if (n !== BLOCK) w.put(n - 1, 16);
  w.put(crc8(w.buf, start, w.pos), 8);

  writeSubframe(w, x, residual);
  w.alignToByte();
  const crc = crc16(w.buf, start, w.pos);
  w.put(crc, 16);
}

function writeSubframe(w: BitWriter, x: Int16Array, residual: Int32Array): void {
  const n = x.length;
  const order = n > 8 ? bestFixedOrder(x) : isConstant(x) ? -1 : 0;
  if (order < 0) {
    w.put(0b00000000, 8); // CONSTANT
    w.put((x[0] ?? 0) & 0xffff, 16);
    return;
  }
  fixedResidual(x, order, residual);
  const count = n - order;
  const plan = planRice(residual, count, n, order);
  const bits = 8 + 16 * order + 6 + plan.bits;
  if (bits >= n * 16 || n <= 8) {
    w.put(0b00000010, 8); // VERBATIM
    for (let i = 0; i < n; i++) w.put((x[i] ?? 0) & 0xffff, 16);
    return;
  }
  w.put((0b001000 | order) << 1, 8); // FIXED, order
  for (let i = 0; i < order; i++) w.put((x[i] ?? 0) & 0xffff, 16);
  w.put(0b00, 2); // Rice, 4-bit parameters
  w.put(plan.order, 4);
  const per = n >> plan.order;
  let r = 0;
  for (let p = 0; p < plan.params.length; p++) {
    const k = plan.params[p] ?? 0;
    w.put(k, 4);
    r = w.riceRun(residual, r, (p + 1) * per - order, k);
  }
}

function isConstant(x: Int16Array): boolean {
  const x0 = x[0];
  for (let i = 1; i < x.length; i++) if (x[i] !== x0) return false;
  return true;
}

/** Order 0–4 whose residual has the smallest absolute sum (libFLAC's heuristic); -1 for a constant block. */
function bestFixedOrder(x: Int16Array): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let s4 = 0;
  let a = x[3] ?? 0;
  let b = a - (x[2] ?? 0);
  let c = b - ((x[2] ?? 0) - (x[1] ?? 0));
  let d = c - ((x[2] ?? 0) - 2 * (x[1] ?? 0) + (x[0] ?? 0));
  for (let i = 4; i < x.length; i++) {
    const e0 = x[i] ?? 0;
    const e1 = e0 - a;
    const e2 = e1 - b;
    const e3 = e2 - c;
    const e4 = e3 - d;
    a = e0;
    b = e1;
    c = e2;
    d = e3;
    s0 += Math.abs(e0);
    s1 += Math.abs(e1);
    s2 += Math.abs(e2);
    s3 += Math.abs(e3);
    s4 += Math.abs(e4);
  }
  if (s1 === 0 && isConstant(x.subarray(0, 5))) return -1;
  let best = 0;
  let min = s0;
  if (s1 < min) [best, min] = [1, s1];
  if (s2 < min) [best, min] = [2, s2];
  if (s3 < min) [best, min] = [3, s3];
  if (s4 < min) best = 4;
  return best;
}

/** Residual of the fixed predictor of `order` for samples `order…n-1`, into `out[0…n-order-1]`. */
function fixedResidual(x: Int16Array, order: number, out: Int32Array): void {
  const n = x.length;
  // One loop per order: the hot path of the encoder, kept free of per-sample branches.
  if (order === 0) for (let i = 0; i < n; i++) out[i] = x[i] as number;
  else if (order === 1) for (let i = 1; i < n; i++) out[i - 1] = (x[i] as number) - (x[i - 1] as number);
  else if (order === 2) for (let i = 2; i < n; i++) out[i - 2] = (x[i] as number) - 2 * (x[i - 1] as number) + (x[i - 2] as number);
  else if (order === 3) {
    for (let i = 3; i < n; i++) out[i - 3] = (x[i] as number) - 3 * (x[i - 1] as number) + 3 * (x[i - 2] as number) - (x[i - 3] as number);
  } else {
    for (let i = 4; i < n; i++) {
      out[i - 4] = (x[i] as number) - 4 * (x[i - 1] as number) + 6 * (x[i - 2] as number) - 4 * (x[i - 3] as number) + (x[i - 4] as number);
    }
  }
}

// Scratch space of `planRice` (the encoder is synchronous, so one set per process is enough).
const PARTITIONS = 1 << MAX_PARTITION_ORDER;
const partSum = new Float64Array(PARTITIONS);
const partCount = new Int32Array(PARTITIONS);
const partParams = new Uint8Array(PARTITIONS);

/** Partition order and per-partition Rice parameters with the fewest (estimated) bits. */
function planRice(residual: Int32Array, count: number, n: number, order: number): { order: number; params: Uint8Array; bits: number } {
  let maxOrder = 0;
  while (maxOrder < MAX_PARTITION_ORDER && n % (1 << (maxOrder + 1)) === 0 && n >> (maxOrder + 1) > order) maxOrder++;
  // Sums of zigzagged residuals per partition at the finest order; coarser orders merge neighbours in place.
  let parts = 1 << maxOrder;
  const per = n >> maxOrder;
  let r = 0;
  for (let p = 0; p < parts; p++) {
    const stop = Math.min(count, (p + 1) * per - order);
    let sum = 0;
    const from = r;
    for (; r < stop; r++) {
      const v = residual[r] as number;
      sum += v < 0 ? -2 * v - 1 : 2 * v;
    }
    partSum[p] = sum;
    partCount[p] = r - from;
  }
  let bestOrder = 0;
  let bestBits = Number.POSITIVE_INFINITY;
  let bestParams = new Uint8Array(0);
  for (let po = maxOrder; po >= 0; po--) {
    let bits = 0;
    for (let p = 0; p < parts; p++) bits += 4 + riceCost(partSum[p] as number, partCount[p] as number, p);
    if (bits < bestBits) {
      bestBits = bits;
      bestOrder = po;
      bestParams = partParams.slice(0, parts);
    }
    parts >>= 1;
    for (let p = 0; p < parts; p++) {
      partSum[p] = (partSum[2 * p] as number) + (partSum[2 * p + 1] as number);
      partCount[p] = (partCount[2 * p] as number) + (partCount[2 * p + 1] as number);
    }
  }
  return { order: bestOrder, params: bestParams, bits: bestBits };
}

/**
 * Estimated bits of `count` values summing to `sum` with the best Rice parameter, which is stored in
 * `partParams[slot]`. A value costs k + 1 bits plus its quotient; quotients sum to about sum / 2^k.
 */
function riceCost(sum: number, count: number, slot: number): number {
  if (count === 0 || sum === 0) {
    partParams[slot] = 0;
    return count;
  }
  const mean = sum / count;
  const guess = mean < 1 ? 0 : 31 - Math.clz32(Math.min(mean, 2 ** 30) | 0);
  let bestK = 0;
  let best = Number.POSITIVE_INFINITY;
  for (let k = Math.max(0, guess - 1); k <= Math.min(MAX_RICE_PARAM, guess + 1); k++) {
    const cost = count * (k + 1) + Math.floor(sum / (1 << k));
    if (cost < best) {
      best = cost;
      bestK = k;
    }
  }
  partParams[slot] = bestK;
  return best;
}

function writeUtf8Number(w: BitWriter, v: number): void {
  if (v < 0x80) {
    w.put(v, 8);
    return;
  }
  const bytes: number[] = [];
  let rest = v;
  let lead = 0x80;
  let room = 0x3f; // payload bits the lead byte can hold shrink as continuation bytes are added
  while (rest > room) {
    bytes.unshift(0x80 | (rest & 0x3f));
    rest = Math.floor(rest / 64);
    lead = (lead >> 1) | 0x80;
    room >>= 1;
  }
  w.put((lead | rest) & 0xff, 8);
  for (const b of bytes) w.put(b, 8);
}

/** MSB-first bit writer over a preallocated buffer. */
class BitWriter {
  readonly buf: Uint8Array;
  pos = 0;
  acc = 0;
  bits = 0;
  constructor(size: number) {
    this.buf = new Uint8Array(size);
  }
  /** Write the low `n` (≤ 24) bits of `v`. */
  put(v: number, n: number): void {
    this.acc = (this.acc << n) | (v & ((1 << n) - 1));
    this.bits += n;
    while (this.bits >= 8) {
      this.bits -= 8;
      this.buf[this.pos++] = (this.acc >>> this.bits) & 0xff;
    }
    this.acc &= (1 << this.bits) - 1;
  }
  /**
   * Rice-code `residual[from…to-1]` (zigzagged) with parameter `k`: per value `u >> k` zeros, a one, the low `k`
   * bits. State is held in locals for speed; returns `to`.
   */
  riceRun(residual: Int32Array, from: number, to: number, k: number): number {
    const buf = this.buf;
    const mask = (1 << k) - 1;
    let acc = this.acc;
    let bits = this.bits;
    let pos = this.pos;
    for (let r = from; r < to; r++) {
      const v = residual[r] as number;
      const u = ((v << 1) ^ (v >> 31)) >>> 0;
      let q = u >>> k;
      while (q >= 16) {
        acc <<= 16;
        bits += 16;
        while (bits >= 8) {
          bits -= 8;
          buf[pos++] = (acc >>> bits) & 0xff;
        }
        acc &= (1 << bits) - 1;
        q -= 16;
      }
      // q ≤ 15 zeros, the stop bit, k ≤ 14 bits: at most 30 bits, after at most 7 pending ones → fits 32 bits
      // only when split in two writes of ≤ 24.
      const n1 = q + 1;
      acc = (acc << n1) | 1;
      bits += n1;
      while (bits >= 8) {
        bits -= 8;
        buf[pos++] = (acc >>> bits) & 0xff;
      }
      acc &= (1 << bits) - 1;
      if (k > 0) {
        acc = (acc << k) | (u & mask);
        bits += k;
        while (bits >= 8) {
          bits -= 8;
          buf[pos++] = (acc >>> bits) & 0xff;
        }
        acc &= (1 << bits) - 1;
      }
    }
    this.acc = acc;
    this.bits = bits;
    this.pos = pos;
    return to;
  }
  bytes(b: ArrayLike<number>): void {
    for (let i = 0; i < b.length; i++) this.put(b[i] ?? 0, 8);
  }
  alignToByte(): void {
    if (this.bits > 0) this.put(0, 8 - this.bits);
  }
}

const CRC8 = crcTable(0x07, 8);
const CRC16 = crcTable(0x8005, 16);

function crcTable(poly: number, width: 8 | 16): Uint16Array {
  const top = 1 << (width - 1);
  const mask = (1 << width) - 1;
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << (width - 8);
    for (let j = 0; j < 8; j++) c = (c & top ? (c << 1) ^ poly : c << 1) & mask;
    table[i] = c;
  }
  return table;
}

function crc8(buf: Uint8Array, from: number, to: number): number {
  let c = 0;
  for (let i = from; i < to; i++) c = CRC8[c ^ (buf[i] ?? 0)] ?? 0;
  return c;
}

function crc16(buf: Uint8Array, from: number, to: number): number {
  let c = 0;
  for (let i = from; i < to; i++) c = ((c << 8) & 0xffff) ^ (CRC16[(c >> 8) ^ (buf[i] ?? 0)] ?? 0);
  return c;
}

/**
 * MD5 of the samples as FLAC defines it for STREAMINFO: signed 16-bit little-endian, interleaved (here one
 * channel). The typed array is host order, so a big-endian host hashes a byte-swapped copy.
 */
export function pcmMd5(pcm: Int16Array): Uint8Array {
  const bytes = new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength);
  if (LITTLE_ENDIAN_HOST) return createHash('md5').update(bytes).digest();
  const le = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += 2) {
    le[i] = bytes[i + 1] ?? 0;
    le[i + 1] = bytes[i] ?? 0;
  }
  return createHash('md5').update(le).digest();
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

