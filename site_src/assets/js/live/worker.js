// Live mode's worker: the model's ONNX graph in ONNX Runtime Web (WebAssembly, one thread), driven by
// the JavaScript scheduler (scheduler.js, diffusers' step) from the start noise of a seed exactly as
// PyTorch draws it (randn.js). Off the page's thread, so the page stays responsive while it samples.
//
// Messages in:   {type: "sample", id, graph, config, scheduler: "ddim"|"ddpm", steps, seed,
//                 startIndex?, x?: Float32Array (x at startIndex; else seed's start noise),
//                 image?: Float32Array, noiseSeed? (forward first: x = add_noise(image, eps, t) at
//                 t = timesteps[startIndex], eps = row noiseRow of randn((noiseRows, C, H, W)) of
//                 manual_seed(noiseSeed); noiseRows 1 and noiseRow 0 unless given), noise?: Float32Array
//                 (eps itself, C*H*W, instead of noiseSeed), keep: "all"|"final",
//                 guidance?: {label, scale} (classifier-free guidance, core/guidance.py: both
//                 branches, class and "no class", as one batch of 2 per call; w = 1 or 0 needs one)}
//                A class-conditional graph (an input class_labels) without `guidance` is given its
//                "no class" label (`nullClass`), as the lessons sample it.
//                DDPM's per-step noise always comes from manual_seed(seed), fresh (the forward noise
//                does not consume it), so a forward-backward run can carry the stream of its level.
//                {type: "cancel", id}
// Messages out:  {type: "loading", id, what}  {type: "step", id, index, total, t, x, eps, x0, next, ms}
//                {type: "done", id, x, ms, calls, backend}  {type: "error", id, message}  {type: "cancelled", id}
// A module worker (live-ui.js starts it with type "module"): its imports are the page's own numerics
// and ONNX Runtime Web's ES module build, vendored by the site build (generate/site/live.py).
import * as ort from "../../vendor/onnxruntime-web/ort.wasm.min.mjs";
import { TorchGenerator } from "./randn.js";
import { sample, toRGBA } from "./sampler.js";
import { Scheduler } from "./scheduler.js";

ort.env.wasm.wasmPaths = new URL("../../vendor/onnxruntime-web/", import.meta.url).href;
ort.env.wasm.numThreads = 1;   // threads need cross-origin isolation, which a static host does not give
ort.env.wasm.proxy = false;    // this is the worker already
ort.env.logLevel = "error";

const graphs = new Map(); // graph URL -> Promise<bytes>: fetched once, whatever the batch
const sessions = new Map(); // "batch graph URL" -> Promise<InferenceSession>
const cancelled = new Set();

function graphBytes(graph) {
  if (!graphs.has(graph)) {
    graphs.set(graph, fetch(graph).then(async (response) => {
      if (!response.ok) throw new Error(`${graph}: HTTP ${response.status}`);
      return new Uint8Array(await response.arrayBuffer());
    }).catch((error) => { graphs.delete(graph); throw error; }));
  }
  return graphs.get(graph);
}

function session(graph, batch) {
  const key = `${batch} ${graph}`;
  if (!sessions.has(key)) {
    sessions.set(key, (async () => {
      const bytes = await graphBytes(graph);
      // a fixed batch (1, or 2 for guidance's two branches) lets the optimizer plan every shape ahead
      return ort.InferenceSession.create(bytes, { executionProviders: ["wasm"], graphOptimizationLevel: "all", freeDimensionOverrides: { batch } });
    })().catch((error) => { sessions.delete(key); throw error; }));
  }
  return sessions.get(key);
}

async function run(job) {
  const started = performance.now();
  post({ type: "loading", id: job.id, what: "model" });
  const g = job.guidance, both = Boolean(g) && g.scale !== 0 && g.scale !== 1;
  const net = await session(job.graph, both ? 2 : 1);
  const [C, H, W] = job.shape, numel = C * H * W;
  const labelled = net.inputNames.includes("class_labels");
  if (g && !labelled) throw new Error("this model's graph takes no class labels: it cannot be guided by class");
  const labels = (...values) => new ort.Tensor("int64", BigInt64Array.from(values, (v) => BigInt(v)), [values.length]);
  let calls = 0;
  // eps_theta(x_t, t), or v / x_0: whatever the graph was trained to answer (config.prediction_type)
  async function call(batch, t, classes) {
    await nextTask(); // let a waiting "cancel" message in: a run resolves in microtasks, which never yield
    const n = classes ? classes.length : 1;
    const feeds = { sample: new ort.Tensor("float32", batch, [n, C, H, W]), timestep: new ort.Tensor("float32", new Float32Array(n).fill(t), [n]) };
    if (labelled) feeds.class_labels = labels(...(classes || [job.nullClass]));
    const out = await net.run(feeds);
    calls += 1;
    return out.model_output.data;
  }
  // guided = out(x, no class) + w (out(x, c) - out(x, no class)) in float32, as core/guidance.py `guided`
  async function denoise(xt, t) {
    if (!g) return call(xt, t, null);
    if (g.scale === 1) return call(xt, t, [g.label]);
    if (g.scale === 0) return call(xt, t, [job.nullClass]);
    const pair = new Float32Array(2 * numel);
    pair.set(xt, 0);
    pair.set(xt, numel);
    const out = await call(pair, t, [g.label, job.nullClass]);
    const w = Math.fround(g.scale), guided = new Float32Array(numel);
    for (let i = 0; i < numel; i++) {
      const c = out[i], u = out[numel + i];
      guided[i] = Math.fround(u + Math.fround(w * Math.fround(c - u)));
    }
    return guided;
  }
  const scheduler = new Scheduler(job.config, job.scheduler);
  const generator = new TorchGenerator(job.seed);
  const startIndex = job.startIndex || 0;
  scheduler.setTimesteps(job.steps);
  let x = job.x;
  if (job.image) {
    x = scheduler.addNoise(job.image, job.noise || forwardNoise(job, numel), scheduler.timesteps[startIndex]);
  }
  if (!x) x = generator.randn(numel); // x_T of seed s, as DDIMPipeline draws it; DDPM's noise follows from it
  const signal = { get aborted() { return cancelled.has(job.id); } };
  const total = job.steps - startIndex;
  post({ type: "loading", id: job.id, what: "sampling" });
  let last = performance.now();
  const final = await sample({
    scheduler, steps: job.steps, x, generator, denoise, signal, startIndex,
    onStep(index, s) {
      const now = performance.now();
      const message = { type: "step", id: job.id, index, done: index - startIndex + 1, total, t: s.t, ms: now - last };
      last = now;
      if (job.keep === "all") {
        const eps = scheduler.predEpsilon(s.modelOutput, s.sample, s.t);
        message.frames = { x: pixels(s.sample), eps: pixels(eps), x0: pixels(s.predOriginalSample), next: pixels(s.prevSample) };
      }
      post(message);
    },
  });
  post({ type: "done", id: job.id, x: Float32Array.from(final), image: pixels(final), ms: performance.now() - started, calls, backend: "wasm" });

  // [-1, 1] -> 8-bit RGBA exactly as the precompute maps a frame (to_uint8: x / 2 + 0.5, clamped, rounded)
  function pixels(values) { return toRGBA(values, C, H); }
}

// A macrotask boundary without setTimeout's clamping (4 ms after a few nested calls).
function nextTask() {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => { channel.port1.close(); resolve(); };
    channel.port2.postMessage(0);
  });
}

// Row noiseRow of randn((noiseRows, C, H, W)): the whole tensor is drawn, as torch draws it (a
// numel that is not a multiple of 16 redraws its last 16 values, so a shorter draw could differ).
function forwardNoise(job, numel) {
  const rows = job.noiseRows || 1, row = job.noiseRow || 0;
  if (!(Number.isInteger(row) && row >= 0 && row < rows)) throw new Error(`noiseRow ${row}: allowed 0 to ${rows - 1}`);
  const all = new TorchGenerator(job.noiseSeed).randn(rows * numel);
  return all.subarray(row * numel, (row + 1) * numel);
}

function post(message) {
  const buffers = [];
  if (message.x) buffers.push(message.x.buffer);
  if (message.image) buffers.push(message.image.buffer);
  for (const frame of Object.values(message.frames || {})) buffers.push(frame.buffer);
  self.postMessage(message, buffers);
}

self.onmessage = (event) => {
  const job = event.data;
  if (job.type === "cancel") { cancelled.add(job.id); return; }
  if (job.type !== "sample") return;
  run(job).then(() => cancelled.delete(job.id), (error) => {
    cancelled.delete(job.id);
    if (error && error.name === "AbortError") post({ type: "cancelled", id: job.id });
    else post({ type: "error", id: job.id, message: String((error && error.message) || error) });
  });
};
