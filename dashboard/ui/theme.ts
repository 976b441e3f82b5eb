/** Light / dark / follow the system, remembered in localStorage. */
export type Theme = 'auto' | 'light' | 'dark';
const KEY = 'meshtap-dashboard-theme';

export function currentTheme(): Theme {
  const t = localStorage.getItem(KEY);
  return t === 'light' || t === 'dark' ? t : 'auto';
}

export function applyTheme(t: Theme = currentTheme()): void {
  if (t === 'auto') document.documentElement.removeAttribute('data-theme');
  else document.documentElement.setAttribute('data-theme', t);
}

export function setTheme(t: Theme): void {
  if (t === 'auto') localStorage.removeItem(KEY);
  else localStorage.setItem(KEY, t);
  applyTheme(t);
}
