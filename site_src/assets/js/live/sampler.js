/* sampler.js: the reverse process in the reader's browser (live mode, issue 14).
 *
 * `sample` is generate/core/sampling.py `reverse_process` for one image: from index
 * `startIndex` of the scheduler's timesteps, call the model, step the scheduler (scheduler.js), report
 * the step, go on with x_{t_prev}. It is DDPM's Algorithm 2 (Ho et al. 2020) or DDIM's eq. 12 (Song et
 * al. 2021) line for line; the model is any async `denoise(x, t)` (ONNX Runtime Web in a worker).
 * `toRGBA` is sampling.py `to_uint8`: [-1, 1] floats to 8-bit pixels.
 *
 * Notation (code name -> paper symbol):
 *   x / sample              x_t, the noisy image at timestep t (C x H x W, row-major, one image)
 *   modelOutput             eps, x_0 or v, as the model was trained
 *   predOriginalSample      x_0, the clean-image estimate
 *   prevSample              x_{t-1} (DDPM) or x_{t_prev} (DDIM)
 *   generator               TorchGenerator(seed): x_T came from it, DDPM's noise continues it
 *
 *   x_T = generator.randn(C*H*W) --> [denoise(x_t, t) -> scheduler.step -> onStep] --> ... --> x_0
 *                                     for t in scheduler.timesteps[startIndex:]
 */
/** A DOMException named AbortError (what fetch throws), or an Error of that name without DOM. */
function abortError() {
  const message = "sampling aborted";
  if (typeof DOMException === "function") return new DOMException(message, "AbortError");
  const error = new Error(message);
  error.name = "AbortError";
  return error;
}

/**
 * @typedef {object} StepReport
 * @property {number} t                           the timestep of this step
 * @property {Float32Array} sample                x_t, the step's input
 * @property {Float32Array} modelOutput           what denoise returned
 * @property {Float32Array} predOriginalSample    x_0 (after clip_sample), the scheduler's
 * @property {Float32Array} prevSample            the step's output
 */

/**
 * Run the reverse process on one image; resolves to the final x (x_0).
 * @param {object} options
 * @param {Scheduler} options.scheduler
 * @param {number} [options.steps] calls scheduler.setTimesteps(steps) first; else it must have been called
 * @param {Float32Array} options.x the start: x_T (generator.randn(numel)), or a noised image for
 *   forward-then-backward (with startIndex)
 * @param {TorchGenerator} [options.generator] DDPM's per-step noise (the start noise's generator)
 * @param {function(Float32Array, number): Promise<Float32Array>} options.denoise the model: (x_t, t) -> output
 * @param {function(number, StepReport): (void|Promise<void>)} [options.onStep] (index in timesteps, report)
 * @param {AbortSignal} [options.signal] rejects with an AbortError once aborted (checked around each call)
 * @param {number} [options.startIndex=0] first index into scheduler.timesteps
 * @returns {Promise<Float32Array>}
 */
async function sample({ scheduler, steps, x, generator, denoise, onStep, signal, startIndex = 0 }) {
  if (steps !== undefined && steps !== null) scheduler.setTimesteps(steps);
  if (scheduler.numInferenceSteps === null) throw new Error("sample: pass `steps` or call scheduler.setTimesteps first");
  const timesteps = scheduler.timesteps;
  if (!(Number.isInteger(startIndex) && startIndex >= 0 && startIndex <= timesteps.length))
    throw new Error(`startIndex ${startIndex}: must be a whole number from 0 to ${timesteps.length}`);
  for (let index = startIndex; index < timesteps.length; index++) {
    if (signal && signal.aborted) throw abortError();
    const t = timesteps[index];
    const modelOutput = await denoise(x, t);
    if (signal && signal.aborted) throw abortError();
    const { prevSample, predOriginalSample } = scheduler.step(modelOutput, t, x, generator);
    if (onStep) await onStep(index, { t, sample: x, modelOutput, predOriginalSample, prevSample });
    x = prevSample;
  }
  return x;
}

/**
 * One image (C x size x size floats in [-1, 1], row-major) to RGBA bytes for an ImageData, as
 * sampling.py `to_uint8`: x / 2 + 0.5 in float32, clamped to [0, 1], times 255, rounded half to even
 * (torch.round); a grey image (C = 1) is repeated into R, G and B; alpha is 255.
 * @param {Float32Array} x
 * @param {number} channels 1 or 3
 * @param {number} size the side in pixels
 * @returns {Uint8ClampedArray} size * size * 4 bytes
 */
function toRGBA(x, channels, size) {
  if (channels !== 1 && channels !== 3) throw new Error(`toRGBA: channels ${channels}, allowed 1 or 3`);
  const plane = size * size;
  if (x.length !== channels * plane) throw new Error(`toRGBA: ${x.length} values, expected ${channels} x ${size} x ${size}`);
  const out = new Uint8ClampedArray(plane * 4);
  for (let c = 0; c < 3; c++) {
    const from = (channels === 1 ? 0 : c) * plane;
    for (let p = 0; p < plane; p++) out[p * 4 + c] = toByte(x[from + p]);
  }
  for (let p = 0; p < plane; p++) out[p * 4 + 3] = 255;
  return out;
}

/** One value: float32 x / 2 + 0.5, clamp, * 255, round half to even (NaN gives 0; torch's cast of NaN is undefined). */
function toByte(v) {
  const f32 = Math.fround;
  let scaled = f32(f32(v / 2) + 0.5);
  scaled = scaled < 0 ? 0 : scaled > 1 ? 1 : scaled;
  const y = f32(scaled * 255);
  const r = Math.round(y);
  return (r - y === 0.5 && r % 2 !== 0) ? r - 1 : (Number.isNaN(r) ? 0 : r);
}

export { sample, toRGBA, toByte };
