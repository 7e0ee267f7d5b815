// Score a file: the CSV goes to POST /v1/score/csv as it is (no parsing here); upload
// progress from the request, scoring progress from the lines streamed back against the
// X-Credit-Rows header; the answer is offered for download byte for byte. Text only.
"use strict";

function scoreFile(event) {
  event.preventDefault();
  const $ = (id) => document.getElementById(id);
  const file = $("file").files[0];
  if (!file) return;
  $("error").hidden = true; $("done").hidden = true;
  $("sent").value = 0; $("scored").value = 0; $("count").textContent = "";
  const xhr = new XMLHttpRequest();
  let total = 0, seen = 0, lines = 0;
  xhr.open("POST", "/v1/score/csv");
  xhr.setRequestHeader("Content-Type", "text/csv");
  xhr.upload.onprogress = (e) => { if (e.lengthComputable) { $("sent").max = e.total; $("sent").value = e.loaded; } };
  xhr.onreadystatechange = () => {
    if (xhr.readyState === XMLHttpRequest.HEADERS_RECEIVED && xhr.status === 200) {
      total = Number(xhr.getResponseHeader("X-Credit-Rows") || "0");
      $("scored").max = Math.max(1, total);
    }
  };
  xhr.onprogress = () => {
    if (xhr.status !== 200) return;
    const text = xhr.responseText;
    for (let i = seen; i < text.length; i++) if (text.charCodeAt(i) === 10) lines++;
    seen = text.length;
    const rows = Math.max(0, lines - 1);
    $("scored").value = rows;
    $("count").textContent = `${rows} of ${total} rows`;
  };
  xhr.onload = () => {
    if (xhr.status !== 200) {
      let message = `HTTP ${xhr.status}`;
      try { message = JSON.parse(xhr.responseText).error.message; } catch (_) { /* not JSON */ }
      $("error").textContent = message; $("error").hidden = false;
      return;
    }
    const text = xhr.responseText;
    const rows = text.split("\n").length - 2;
    $("scored").value = rows; $("count").textContent = `${rows} of ${total} rows`;
    const link = $("download");
    if (link.href.startsWith("blob:")) URL.revokeObjectURL(link.href);
    link.href = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
    $("summary").textContent = `${rows} rows from ${file.name}, model ${xhr.getResponseHeader("X-Credit-Model") || ""}`;
    $("done").hidden = false;
  };
  xhr.onerror = () => { $("error").textContent = "the upload failed"; $("error").hidden = false; };
  xhr.send(file);
}

document.addEventListener("DOMContentLoaded", () => document.getElementById("upload").addEventListener("submit", scoreFile));
