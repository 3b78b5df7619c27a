// Browser notifications for settled orders, only when the person asked for
// them (a button; never on load) and only while the tab is hidden: a visible
// page says it with its own toast.

/** The browser's Notification API, or null where there is none (or it is off limits, as in some iframes). */
function notificationApi(): typeof Notification | null {
  return typeof Notification === 'undefined' ? null : Notification;
}

/** 'unsupported' where the browser has no notifications; otherwise the person's answer so far. */
export function notificationPermission(): NotificationPermission | 'unsupported' {
  return notificationApi()?.permission ?? 'unsupported';
}

/** Asks the person (call it from a click only) and returns their answer. */
export async function askForNotifications(): Promise<NotificationPermission | 'unsupported'> {
  const api = notificationApi();
  return api ? api.requestPermission() : 'unsupported';
}

/** Shows text as a browser notification when the tab is hidden and the person allowed it; otherwise nothing. */
export function notifyWhenHidden(text: string): void {
  const api = notificationApi();
  if (api?.permission !== 'granted' || document.visibilityState !== 'hidden') return;
  new api('Gozon shop', { body: text });
}
