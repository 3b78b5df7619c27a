import { render } from 'preact';
import { App } from './App.tsx';
import { createApi } from './lib/api.ts';
import { loadConfig } from './lib/config.ts';
import './styles.css';

const root = document.getElementById('app');
if (root) {
  void loadConfig().then((config) => {
    root.textContent = '';
    render(<App api={createApi({ baseUrl: config.apiBaseUrl })} />, root);
  });
}
