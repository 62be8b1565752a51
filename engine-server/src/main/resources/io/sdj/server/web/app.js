// The sdj web page: A1111's API from the browser. Generate posts /sdapi/v1/txt2img; while it runs, /sdapi/v1/progress
// is polled for the progress bar and the live preview; Cancel aborts the request (the server cancels a request whose
// client goes away, so only this page's generation stops).
'use strict';
const $ = (id) => document.getElementById(id);
let running = null;

function headers() {
  const h = { 'Content-Type': 'application/json' };
  const key = $('apiKey').value || sessionStorage.getItem('sdj-api-key');
  if (key) h['Authorization'] = 'Bearer ' + key;
  return h;
}

function status(text, isError) {
  $('status').textContent = text;
  $('status').className = isError ? 'error' : '';
}

async function api(path, options) {
  const res = await fetch(path, Object.assign({ headers: headers() }, options || {}));
  if (res.status === 401) $('keyLabel').hidden = false;
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.detail || (body.error && body.error.message) || res.status + ' ' + res.statusText);
  return body;
}

async function loadLists() {
  try {
    const [samplers, models] = await Promise.all([api('/sdapi/v1/samplers'), api('/sdapi/v1/sd-models')]);
    const select = $('sampler');
    select.replaceChildren(new Option('model default', ''));
    for (const s of samplers) select.add(new Option(s.name, s.name));
    if (models.length) $('model').textContent = models[0].title;
  } catch (e) {
    status(e.message, true);
  }
}

async function poll(job) {
  while (running === job) {
    try {
      const p = await api('/sdapi/v1/progress');
      if (running !== job) return;
      $('progress').value = p.progress;
      if (p.state.sampling_steps > 0) {
        status('step ' + p.state.sampling_step + ' of ' + p.state.sampling_steps
          + (p.state.job_count > 1 ? ', image ' + (p.state.job_no + 1) + ' of ' + p.state.job_count : '')
          + (p.eta_relative > 0 ? ', about ' + p.eta_relative.toFixed(1) + ' s left' : ''));
      } else if (p.state.queued > 0) {
        status('waiting in the queue');
      }
      if (p.current_image) {
        $('preview').src = 'data:image/png;base64,' + p.current_image;
        $('preview').hidden = false;
      }
    } catch (e) { /* keep polling: the generation itself reports errors */ }
    await new Promise((r) => setTimeout(r, 300));
  }
}

async function generate(event) {
  event.preventDefault();
  if ($('apiKey').value) sessionStorage.setItem('sdj-api-key', $('apiKey').value);
  const body = {
    prompt: $('prompt').value,
    negative_prompt: $('negative').value,
    width: Number($('width').value),
    height: Number($('height').value),
    steps: Number($('steps').value),
    cfg_scale: Number($('cfg').value),
    seed: Number($('seed').value),
  };
  if ($('sampler').value) body.sampler_name = $('sampler').value;
  const job = { abort: new AbortController() };
  running = job;
  $('generate').disabled = true;
  $('cancel').disabled = false;
  $('progress').value = 0;
  $('preview').hidden = true;
  status('starting');
  poll(job);
  try {
    const answer = await api('/sdapi/v1/txt2img', { method: 'POST', body: JSON.stringify(body), signal: job.abort.signal });
    const info = JSON.parse(answer.info);
    $('result').src = 'data:image/png;base64,' + answer.images[0];
    $('result').hidden = false;
    $('parameters').textContent = info.infotexts[0];
    $('progress').value = 1;
    status('done, seed ' + info.seed);
  } catch (e) {
    status(e.name === 'AbortError' ? 'cancelled' : e.message, e.name !== 'AbortError');
  } finally {
    running = null;
    $('generate').disabled = false;
    $('cancel').disabled = true;
  }
}

$('form').addEventListener('submit', generate);
$('cancel').addEventListener('click', () => { if (running) running.abort.abort(); });
$('apiKey').addEventListener('change', () => { sessionStorage.setItem('sdj-api-key', $('apiKey').value); loadLists(); });
loadLists();
