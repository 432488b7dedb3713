// The gateway's web page: microphone over the WebSocket stream (docs/stream.md), the live
// transcript, confirm and cancel buttons for a pending action, and recent actions.
// Plain browser JavaScript, no build step. Text from the server is only ever set with
// textContent, never parsed as HTML.
'use strict';

const $ = (id) => document.getElementById(id);
/** Browser sockets cannot set headers: the token rides as a second subprotocol. */
const PROTOCOL = 'gateway.v1';
/** Audio queued on the socket beyond which microphone frames are dropped (slow network). */
const MAX_QUEUED_BYTES = 512 * 1024;

let ws = null;
let audio = null; // { ctx, stream, source, proc }
let pendingId = null;
let reply = { rate: 16000, at: 0, sources: [] };

function status(text) {
  $('status').textContent = text;
}

function showConfirmation(ev) {
  pendingId = ev.id;
  $('readback').textContent = ev.readback;
  $('confirm-tier').textContent = ev.tier || '';
  $('confirm-until').textContent = new Date(ev.expires_at).toLocaleTimeString();
  $('confirmation').hidden = false;
}

function hideConfirmation() {
  pendingId = null;
  $('confirmation').hidden = true;
}

function addAction(a) {
  const li = document.createElement('li');
  const outcome = a.outcome ? `, ${a.outcome}` : '';
  li.textContent = `${a.action} (${a.tier || '?'}): ${a.decision}${outcome}`;
  $('actions').prepend(li);
  while ($('actions').children.length > 20) $('actions').lastChild.remove();
}

function stopReply() {
  for (const s of reply.sources) {
    try { s.stop(); } catch { /* already ended */ }
  }
  reply.sources = [];
  reply.at = 0;
}

function playFrame(buf) {
  if (!audio) return;
  const pcm = new Int16Array(buf);
  const b = audio.ctx.createBuffer(1, pcm.length, reply.rate);
  const ch = b.getChannelData(0);
  for (let i = 0; i < pcm.length; i++) ch[i] = pcm[i] / 32768;
  const src = audio.ctx.createBufferSource();
  src.buffer = b;
  src.connect(audio.ctx.destination);
  const at = Math.max(audio.ctx.currentTime, reply.at);
  src.start(at);
  reply.at = at + b.duration;
  reply.sources.push(src);
  src.onended = () => { reply.sources = reply.sources.filter((s) => s !== src); };
}

function onEvent(ev) {
  switch (ev.type) {
    case 'ready':
      status(`listening (${ev.mode === 'wake_word' ? 'say "Hey Jarvis"' : 'push to talk'})`);
      for (const a of [...(ev.recent || [])].reverse()) addAction(a);
      break;
    case 'wake': status('wake word heard'); break;
    case 'speech_start': status('hearing you'); break;
    case 'partial': $('transcript').textContent = ev.text; break;
    case 'transcript': $('transcript').textContent = ev.text || '(not understood)'; break;
    case 'confirmation': showConfirmation(ev); break;
    case 'result':
      if (ev.decision !== 'confirmation_requested') hideConfirmation();
      if (ev.action) addAction(ev);
      $('reply').textContent = ev.reply || '';
      status('listening');
      break;
    case 'reply_start': reply.rate = ev.sample_rate; break;
    case 'barge_in': stopReply(); break;
    case 'error': status(`error ${ev.code}: ${ev.message}`); break;
    case 'end': status('stream ended'); break;
    default: break;
  }
}

function sendFrame(samples) {
  if (!ws || ws.readyState !== WebSocket.OPEN || ws.bufferedAmount > MAX_QUEUED_BYTES) return;
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const v = Math.max(-1, Math.min(1, samples[i]));
    out[i] = v < 0 ? v * 32768 : v * 32767;
  }
  ws.send(out.buffer);
}

async function start() {
  const token = $('token').value.trim();
  if (!token) { status('paste a token first'); return; }
  $('start').disabled = true;
  try {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: false },
    });
    const ctx = new AudioContext();
    const source = ctx.createMediaStreamSource(stream);
    // ScriptProcessor needs no separate worklet file; 4096 frames is ~85 ms at 48 kHz.
    const proc = ctx.createScriptProcessor(4096, 1, 1);
    proc.onaudioprocess = (e) => sendFrame(e.inputBuffer.getChannelData(0));
    audio = { ctx, stream, source, proc };
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    ws = new WebSocket(`${scheme}://${location.host}/api/v1/stream`,
      [PROTOCOL, `bearer.${token}`]);
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => {
      ws.send(JSON.stringify({ type: 'start', sample_rate: ctx.sampleRate,
        mode: $('mode').value, format: 'pcm16' }));
      source.connect(proc);
      proc.connect(ctx.destination);
      status('connecting');
    };
    ws.onmessage = (m) => {
      if (typeof m.data === 'string') onEvent(JSON.parse(m.data));
      else playFrame(m.data);
    };
    ws.onclose = (e) => {
      status(`disconnected (${e.code}${e.reason ? ` ${e.reason}` : ''})`);
      teardown();
    };
    $('stop').disabled = false;
  } catch (err) {
    status(`microphone unavailable: ${err.message}`);
    teardown();
  }
}

function teardown() {
  if (audio) {
    audio.proc.disconnect();
    audio.source.disconnect();
    for (const t of audio.stream.getTracks()) t.stop();
    void audio.ctx.close();
    audio = null;
  }
  reply.sources = [];
  $('start').disabled = false;
  $('stop').disabled = true;
}

/** Stops sending audio but keeps the stream: the buttons still answer a confirmation. */
function stopMicrophone() {
  if (audio) {
    audio.source.disconnect();
    for (const t of audio.stream.getTracks()) t.stop();
  }
  $('stop').disabled = true;
  status('microphone off');
}

function decide(type) {
  if (!ws || !pendingId) return;
  ws.send(JSON.stringify({ type, id: pendingId }));
  hideConfirmation();
}

$('start').addEventListener('click', () => void start());
$('stop').addEventListener('click', stopMicrophone);
$('confirm').addEventListener('click', () => decide('confirm'));
$('cancel').addEventListener('click', () => decide('cancel'));
