// The two images the runtime pages run their models on: a real photo and a canvas that holds nothing to find.

export async function photo(url) {
  const img = new Image();
  img.src = url;
  await img.decode();
  return img;
}

// A smooth two-colour gradient: no face, no person, no edges.
export function gradient(width, height) {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d');
  const fill = ctx.createLinearGradient(0, 0, width, height);
  fill.addColorStop(0, '#1f3a6b');
  fill.addColorStop(1, '#e8c48a');
  ctx.fillStyle = fill;
  ctx.fillRect(0, 0, width, height);
  return canvas;
}
