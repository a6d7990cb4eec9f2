/* scheduler.js: diffusers' DDIMScheduler (eta 0) and DDPMScheduler in JavaScript (live mode, issue 14).
 *
 * `new Scheduler(config, kind)` is what `LoadedModel.scheduler(kind)` builds in
 * generate/core/loading.py: `DDPMScheduler.from_config(config)` or `DDIMScheduler.from_config(config)`
 * from the model's own scheduler_config.json (a DDPMScheduler config; the DDIM scheduler takes the keys
 * it knows and its own defaults for the rest, e.g. set_alpha_to_one = true). Every tensor operation is
 * torch's float32 operation, one rounding each (Math.fround; fmaf where torch's kernel fuses), so the
 * values are diffusers' 0.42 values on the CPU up to the last place. Measured in
 * tests/test_live_numerics.py: betas and alphas_cumprod bit for bit (2e-6 with rescale_betas_zero_snr);
 * timesteps equal; one step within 6e-6 (relative where |value| > 1), mostly 1e-7 to 5e-7. The gap is
 * torch's float32 sqrt of alpha_bar (`** 0.5`), which on the x86-64 CPU build is 1 ulp off the correctly
 * rounded root for about one value in five; Math.sqrt here is correctly rounded.
 *
 * Notation (code name -> paper symbol), as in diffusers' schedulers:
 *   sample                     x_t, the noisy image at timestep t
 *   modelOutput                what the UNet returns: eps, x_0 or v (`prediction_type`)
 *   predOriginalSample         x_0, the clean-image estimate ("predicted x_0")
 *   predEpsilon                eps_theta(x_t, t), the predicted noise
 *   prevSample                 x_{t-1} (DDPM) or x_{t_prev} (DDIM)
 *   alphasCumprod[t]           alpha_bar_t = prod_{s<=t} (1 - beta_s)
 *   betaProdT                  1 - alpha_bar_t
 *   v                          sqrt(alpha_bar_t) eps - sqrt(1 - alpha_bar_t) x_0 (Salimans & Ho 2022, eq. 9ff)
 *
 * Refused with an error naming the key: beta schedules other than linear, scaled_linear,
 * squaredcos_cap_v2 (or trained_betas); timestep_spacing other than leading, trailing, linspace;
 * DDPM variance_type learned, learned_range, fixed_large_log. fmaf comes from randn.js.
 */
import { fmaf } from "./randn.js";
const f32 = Math.fround;

/** DDPMScheduler's defaults (diffusers 0.42), then what DDIMScheduler adds. */
const DDPM_DEFAULTS = {
  num_train_timesteps: 1000, beta_start: 0.0001, beta_end: 0.02, beta_schedule: "linear",
  trained_betas: null, variance_type: "fixed_small", clip_sample: true, prediction_type: "epsilon",
  thresholding: false, dynamic_thresholding_ratio: 0.995, clip_sample_range: 1.0, sample_max_value: 1.0,
  timestep_spacing: "leading", steps_offset: 0, rescale_betas_zero_snr: false,
};
const DDIM_DEFAULTS = Object.assign({}, DDPM_DEFAULTS, { set_alpha_to_one: true });
delete DDIM_DEFAULTS.variance_type;
const PREDICTION_TYPES = ["epsilon", "sample", "v_prediction"];
const VARIANCE_TYPES = ["fixed_small", "fixed_small_log", "fixed_large"];

// ---------------------------------------------------------------- the schedule (float32 tensors)

/** torch.linspace(start, end, n, dtype=float32) on the CPU: halves from either end, fused. */
function linspace32(start, end, n) {
  const out = new Float32Array(n);
  const s = f32(start), e = f32(end);
  if (n === 1) { out[0] = s; return out; }
  const step = f32(f32(e - s) / (n - 1));
  const halfway = Math.floor(n / 2);
  for (let i = 0; i < n; i++) out[i] = i < halfway ? fmaf(step, i, s) : fmaf(-step, n - i - 1, e);
  return out;
}

/** betas_for_alpha_bar(n) with the cosine alpha_bar (Nichol & Dhariwal 2021, eq. 17), max_beta 0.999. */
function cosineBetas(n) {
  const alphaBar = (t) => Math.cos((t + 0.008) / 1.008 * Math.PI / 2) ** 2;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.min(1 - alphaBar((i + 1) / n) / alphaBar(i / n), 0.999);
  return out;
}

/** torch.cumprod of a float32 tensor on the CPU: accumulated in double, each output rounded. */
function cumprod32(values) {
  const out = new Float32Array(values.length);
  let acc = 1;
  for (let i = 0; i < values.length; i++) { acc *= values[i]; out[i] = acc; }
  return out;
}

const oneMinus = (values) => values.map((v) => f32(1 - v));

/** rescale_zero_terminal_snr (Lin et al. 2023, Algorithm 1), in float32. */
function rescaleZeroTerminalSnr(betas) {
  const root = cumprod32(oneMinus(betas)).map((a) => f32(Math.sqrt(a)));
  const first = root[0], last = root[root.length - 1];
  const scale = f32(first / f32(first - last));
  const alphaBar = root.map((r) => { const shifted = f32(f32(r - last) * scale); return f32(shifted * shifted); });
  const alphas = alphaBar.map((a, i) => (i === 0 ? a : f32(a / alphaBar[i - 1])));
  return oneMinus(alphas);
}

/** @param {object} c the full config @param {string} kind @returns {Float32Array} */
function makeBetas(c, kind) {
  let betas;
  if (c.trained_betas != null) betas = Float32Array.from(c.trained_betas);
  else if (c.beta_schedule === "linear") betas = linspace32(c.beta_start, c.beta_end, c.num_train_timesteps);
  else if (c.beta_schedule === "scaled_linear")
    betas = linspace32(c.beta_start ** 0.5, c.beta_end ** 0.5, c.num_train_timesteps).map((b) => f32(b * b));
  else if (c.beta_schedule === "squaredcos_cap_v2") betas = cosineBetas(c.num_train_timesteps);
  else throw new Error(`${kind} scheduler: beta_schedule ${JSON.stringify(c.beta_schedule)} is not implemented ` +
    "here; allowed: linear, scaled_linear, squaredcos_cap_v2 (or trained_betas)");
  return c.rescale_betas_zero_snr ? rescaleZeroTerminalSnr(betas) : betas;
}

// ---------------------------------------------------------------- timesteps (numpy semantics)

/** numpy's round: half to even. */
function roundHalfEven(x) {
  const r = Math.round(x);
  return (r - x === 0.5 && r % 2 !== 0) ? r - 1 : r;
}

/** np.arange(start, stop, step) for float step: length ceil((stop - start) / step), i * delta. */
function npArange(start, stop, step) {
  const length = Math.max(0, Math.ceil((stop - start) / step));
  const delta = (start + step) - start;
  return Array.from({ length }, (_, i) => start + i * delta);
}

/** np.linspace(start, stop, n): i * step + start, the last one `stop`. */
function npLinspace(start, stop, n) {
  if (n === 1) return [start];
  const step = (stop - start) / (n - 1);
  const out = Array.from({ length: n }, (_, i) => i * step + start);
  out[n - 1] = stop;
  return out;
}

// ---------------------------------------------------------------- x_0 and eps from the model output

/**
 * The step's x_0 (and eps) from the model output, as DDIMScheduler.step / DDPMScheduler.step write
 * them: DDPM eq. 15 for epsilon, x_0 itself for sample, and for v:
 * x_0 = sqrt(a) x_t - sqrt(1 - a) v, eps = sqrt(a) v + sqrt(1 - a) x_t.
 * @param {string} kind prediction_type
 * @param {number} alphaProdT alpha_bar_t (float32)
 * @param {Float32Array} modelOutput
 * @param {Float32Array} sample
 * @returns {{predOriginalSample: Float32Array, predEpsilon: Float32Array}}
 */
function predict(kind, alphaProdT, modelOutput, sample) {
  const n = sample.length;
  const sa = f32(Math.sqrt(alphaProdT)), sb = f32(Math.sqrt(f32(1 - alphaProdT)));
  const x0 = new Float32Array(n), eps = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const x = sample[i], m = modelOutput[i];
    if (kind === "epsilon") {
      x0[i] = f32(f32(x - f32(sb * m)) / sa);
      eps[i] = m;
    } else if (kind === "sample") {
      x0[i] = m;
      eps[i] = f32(f32(x - f32(sa * m)) / sb);
    } else {  // v_prediction
      x0[i] = f32(f32(sa * x) - f32(sb * m));
      eps[i] = f32(f32(sa * m) + f32(sb * x));
    }
  }
  return { predOriginalSample: x0, predEpsilon: eps };
}

/**
 * Dynamic thresholding (Saharia et al. 2022, "Imagen", sec. 2.3), diffusers' `_threshold_sample` for a
 * batch of one: s = the dynamic_thresholding_ratio quantile of |x_0| (torch.quantile, linear),
 * clamped to [1, sample_max_value]; x_0 = clamp(x_0, -s, s) / s.
 */
function thresholdSample(x0, ratio, maxValue) {
  const sorted = Float32Array.from(x0, Math.abs).sort();
  const rank = f32(f32(ratio) * (sorted.length - 1));
  const below = Math.trunc(rank), above = Math.ceil(rank);
  const weight = f32(rank - below);
  const lo = sorted[below], hi = sorted[above];
  let s = weight < 0.5 ? fmaf(weight, f32(hi - lo), lo) : fmaf(-f32(hi - lo), f32(1 - weight), hi);
  s = Math.min(Math.max(s, 1), f32(maxValue));
  return x0.map((v) => f32(Math.min(Math.max(v, -s), s) / s));
}

// ---------------------------------------------------------------- the scheduler

class Scheduler {
  /**
   * @param {object} config the model's scheduler_config.json (keys starting with "_" are ignored)
   * @param {"ddim"|"ddpm"} kind
   */
  constructor(config, kind) {
    if (kind !== "ddim" && kind !== "ddpm") throw new Error(`scheduler kind ${JSON.stringify(kind)}: allowed ddim, ddpm`);
    const defaults = kind === "ddim" ? DDIM_DEFAULTS : DDPM_DEFAULTS;
    const c = {};
    for (const key of Object.keys(defaults)) c[key] = config[key] !== undefined ? config[key] : defaults[key];
    if (!PREDICTION_TYPES.includes(c.prediction_type))
      throw new Error(`prediction_type ${JSON.stringify(c.prediction_type)}: allowed ${PREDICTION_TYPES.join(", ")}`);
    if (kind === "ddpm" && !VARIANCE_TYPES.includes(c.variance_type))
      throw new Error(`variance_type ${JSON.stringify(c.variance_type)} is not implemented here; allowed ` +
        `${VARIANCE_TYPES.join(", ")}`);
    /** @type {object} the scheduler's config, defaults filled in as diffusers' from_config does */
    this.config = c;
    this.kind = kind;
    this.betas = makeBetas(c, kind);
    this.alphas = oneMinus(this.betas);
    this.alphasCumprod = cumprod32(this.alphas);
    /** alpha_bar before the first step: DDIM's final_alpha_cumprod, DDPM's `one` */
    this.finalAlphaCumprod = kind === "ddim" && !c.set_alpha_to_one ? this.alphasCumprod[0] : 1;
    this.numInferenceSteps = null;
    this.timesteps = Array.from({ length: c.num_train_timesteps }, (_, i) => c.num_train_timesteps - 1 - i);
  }

  /**
   * diffusers' `set_timesteps(n)`: the n timesteps of the reverse process, descending.
   * @param {number} n 1 <= n <= num_train_timesteps
   * @returns {number[]}
   */
  setTimesteps(n) {
    const T = this.config.num_train_timesteps;
    if (!(Number.isInteger(n) && n >= 1 && n <= T))
      throw new Error(`num_inference_steps ${n}: must be a whole number from 1 to num_train_timesteps (${T})`);
    let ts;
    const spacing = this.config.timestep_spacing;
    if (spacing === "linspace") {
      ts = npLinspace(0, T - 1, n).map(roundHalfEven).reverse();
    } else if (spacing === "leading") {
      const ratio = Math.floor(T / n);
      ts = Array.from({ length: n }, (_, i) => i * ratio).reverse().map((t) => t + this.config.steps_offset);
    } else if (spacing === "trailing") {
      ts = npArange(T, 0, -T / n).map((t) => roundHalfEven(t) - 1);
    } else {
      throw new Error(`timestep_spacing ${JSON.stringify(spacing)}: allowed leading, trailing, linspace`);
    }
    this.numInferenceSteps = n;
    this.timesteps = ts;
    return ts;
  }

  /** alpha_bar_t, or the value before the first step for t < 0. @param {number} t */
  alphaBar(t) {
    return t >= 0 ? this.alphasCumprod[t] : this.finalAlphaCumprod;
  }

  /** The timestep after t in the reverse process (-1 after the last), as each scheduler computes it. */
  previousTimestep(t) {
    if (this.numInferenceSteps === null) return t - 1;
    if (this.kind === "ddim") return t - Math.floor(this.config.num_train_timesteps / this.numInferenceSteps);
    const index = this.timesteps.indexOf(t);
    if (index < 0) throw new Error(`timestep ${t} is not one of this scheduler's timesteps`);
    return index === this.timesteps.length - 1 ? -1 : this.timesteps[index + 1];
  }

  /** x_0 after clip_sample / thresholding, as both steps apply them. */
  clipOriginal(x0) {
    const c = this.config;
    if (c.thresholding) return thresholdSample(x0, c.dynamic_thresholding_ratio, c.sample_max_value);
    if (c.clip_sample) {
      const r = f32(c.clip_sample_range);
      return x0.map((v) => Math.min(Math.max(v, -r), r));
    }
    return x0;
  }

  /**
   * One reverse step: DDIMScheduler.step(eta=0) or DDPMScheduler.step.
   * @param {Float32Array} modelOutput
   * @param {number} t the current timestep, one of `this.timesteps`
   * @param {Float32Array} sample x_t
   * @param {{randn: function(number): Float32Array}} [generator] DDPM's noise for t > 0 (one image)
   * @returns {{prevSample: Float32Array, predOriginalSample: Float32Array}}
   */
  step(modelOutput, t, sample, generator) {
    if (this.numInferenceSteps === null)
      throw new Error("Number of inference steps is null: call setTimesteps(n) after creating the scheduler");
    if (modelOutput.length !== sample.length)
      throw new Error(`model output has ${modelOutput.length} values, the sample ${sample.length}`);
    return this.kind === "ddim" ? this.stepDDIM(modelOutput, t, sample) : this.stepDDPM(modelOutput, t, sample, generator);
  }

  /** DDIM (Song et al. 2021) eq. 12 with sigma_t = 0 (eta 0). */
  stepDDIM(modelOutput, t, sample) {
    // 1. the previous timestep t - T / n (DDIM's own rule, whatever the spacing)
    const prevT = this.previousTimestep(t);
    // 2. alpha_bar_t and alpha_bar_{t_prev}
    const alphaProdT = this.alphaBar(t), alphaProdTPrev = this.alphaBar(prevT);
    // 3. "predicted x_0" and eps from the model output (eq. 12's first term)
    const { predOriginalSample: raw, predEpsilon } = predict(this.config.prediction_type, alphaProdT, modelOutput, sample);
    // 4. clip or threshold x_0
    const predOriginalSample = this.clipOriginal(raw);
    // 5-6. "direction pointing to x_t": sqrt(1 - alpha_bar_{t_prev} - sigma_t^2) eps, with sigma_t = 0
    const dirCoeff = f32(Math.sqrt(f32(1 - alphaProdTPrev)));
    // 7. x_{t_prev} = sqrt(alpha_bar_{t_prev}) x_0 + direction (eq. 12)
    const x0Coeff = f32(Math.sqrt(alphaProdTPrev));
    const prevSample = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++)
      prevSample[i] = f32(f32(x0Coeff * predOriginalSample[i]) + f32(dirCoeff * predEpsilon[i]));
    return { prevSample, predOriginalSample };
  }

  /** DDPM (Ho et al. 2020): the posterior mean, eq. 7, plus sigma_t z (Algorithm 2, line 4). */
  stepDDPM(modelOutput, t, sample, generator) {
    // 1. alphas and betas of t and of the previous timestep
    const prevT = this.previousTimestep(t);
    const alphaProdT = this.alphaBar(t), alphaProdTPrev = prevT >= 0 ? this.alphasCumprod[prevT] : 1;
    const betaProdT = f32(1 - alphaProdT), betaProdTPrev = f32(1 - alphaProdTPrev);
    const currentAlphaT = f32(alphaProdT / alphaProdTPrev), currentBetaT = f32(1 - currentAlphaT);
    // 2. x_0 from the model output (eq. 15 for epsilon), 3. clip or threshold it
    const raw = predict(this.config.prediction_type, alphaProdT, modelOutput, sample).predOriginalSample;
    const predOriginalSample = this.clipOriginal(raw);
    // 4. the coefficients of x_0 and x_t in the posterior mean mu_t (eq. 7)
    const x0Coeff = f32(f32(f32(Math.sqrt(alphaProdTPrev)) * currentBetaT) / betaProdT);
    const xtCoeff = f32(f32(f32(Math.sqrt(currentAlphaT)) * betaProdTPrev) / betaProdT);
    // 5. mu_t
    const prevSample = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++)
      prevSample[i] = f32(f32(x0Coeff * predOriginalSample[i]) + f32(xtCoeff * sample[i]));
    // 6. + sigma_t z for t > 0, z drawn as randn_tensor(model_output.shape, generator) draws it
    if (t > 0) {
      if (!generator || typeof generator.randn !== "function")
        throw new Error("DDPM step at t > 0 needs a generator (TorchGenerator) for its noise");
      const noise = generator.randn(sample.length);
      const sigma = this.noiseScale(t);
      for (let i = 0; i < sample.length; i++) prevSample[i] = f32(prevSample[i] + f32(sigma * noise[i]));
    }
    return { prevSample, predOriginalSample };
  }

  /** sigma_t, the factor of the DDPM step's noise: DDPMScheduler._get_variance (** 0.5 but for the log type). */
  noiseScale(t) {
    const prevT = this.previousTimestep(t);
    const alphaProdT = this.alphasCumprod[t], alphaProdTPrev = prevT >= 0 ? this.alphasCumprod[prevT] : 1;
    const currentBetaT = f32(1 - f32(alphaProdT / alphaProdTPrev));
    // beta tilde (eq. 7), clamped to 1e-20
    const variance = Math.max(f32(f32(f32(1 - alphaProdTPrev) / f32(1 - alphaProdT)) * currentBetaT), f32(1e-20));
    const type = this.config.variance_type;
    if (type === "fixed_small") return f32(Math.sqrt(variance));
    if (type === "fixed_small_log") return f32(Math.exp(f32(0.5 * f32(Math.log(variance)))));
    return f32(Math.sqrt(currentBetaT));  // fixed_large: sigma_t^2 = beta_t
  }

  /**
   * diffusers' `add_noise`: x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps (DDPM eq. 4).
   * @param {Float32Array} x0 @param {Float32Array} noise @param {number} t @returns {Float32Array}
   */
  addNoise(x0, noise, t) {
    const a = this.alphasCumprod[t];
    const sa = f32(Math.sqrt(a)), sb = f32(Math.sqrt(f32(1 - a)));
    return x0.map((v, i) => f32(f32(sa * v) + f32(sb * noise[i])));
  }

  /**
   * (eps, x_0) from the model output whatever the model predicts, as generate/core/sampling.py
   * `split_prediction` computes them for the figures: alpha_bar_t taken as a Python float (double),
   * sqrt(a) and sqrt(1 - a) in double, then used as float32 scalars. No clipping.
   * @param {Float32Array} modelOutput @param {Float32Array} sample @param {number} t
   * @returns {{predEpsilon: Float32Array, predOriginalSample: Float32Array}}
   */
  splitPrediction(modelOutput, sample, t) {
    const a = this.alphasCumprod[t];
    const sa = f32(Math.sqrt(a)), sb = f32(Math.sqrt(1 - a));
    const n = sample.length, eps = new Float32Array(n), x0 = new Float32Array(n);
    const kind = this.config.prediction_type;
    for (let i = 0; i < n; i++) {
      const x = sample[i], m = modelOutput[i];
      if (kind === "epsilon") { eps[i] = m; x0[i] = f32(f32(x - f32(sb * m)) / sa); }
      else if (kind === "sample") { x0[i] = m; eps[i] = f32(f32(x - f32(sa * m)) / sb); }
      else { x0[i] = f32(f32(sa * x) - f32(sb * m)); eps[i] = f32(f32(sa * m) + f32(sb * x)); }
    }
    return { predEpsilon: eps, predOriginalSample: x0 };
  }

  /** eps only (the figures' noise panel). */
  predEpsilon(modelOutput, sample, t) {
    return this.splitPrediction(modelOutput, sample, t).predEpsilon;
  }

  /** x_0 only (the figures' clean-image estimate, unclipped). */
  predOriginal(modelOutput, sample, t) {
    return this.splitPrediction(modelOutput, sample, t).predOriginalSample;
  }
}

export { Scheduler, linspace32 };
