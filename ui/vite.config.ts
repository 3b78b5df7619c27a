import { defineConfig } from 'vite';

// Preact's JSX through esbuild's automatic runtime; no React plugin.
export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true },
  server: { port: 3000, strictPort: true },
  preview: { port: 3000, strictPort: true },
});
