import { slugSchema } from '@alfa/protocol'

/** The pages nginx serves instead of the app, and the per-client flag files (in the pages dir) that turn them on. */
export const MAINTENANCE_PAGE = 'maintenance.html'
export const EXPIRED_PAGE = 'expired.html'
/** Shown (still as nginx's 502 or 504) while the app does not answer: stopped, restarting, crashed. */
export const UNAVAILABLE_PAGE = 'unavailable.html'

/**
 * The pages a client's site serves by itself (nginx-sites.ts): the statuses of nginx's own that show each, its
 * file in the pages dir, its X-Alfa-Page mark (what confirm-site.ts reads) and the Retry-After it suggests.
 */
export const SITE_PAGES = [
  { mark: 'maintenance', statuses: '503', file: MAINTENANCE_PAGE, retryAfterS: 300 },
  { mark: 'expired', statuses: '403', file: EXPIRED_PAGE, retryAfterS: undefined },
  { mark: 'unavailable', statuses: '502 504', file: UNAVAILABLE_PAGE, retryAfterS: 30 },
] as const
export const maintenanceFlag = (slug: string): string => `${slugSchema.parse(slug)}.maintenance`
export const expiredFlag = (slug: string): string => `${slugSchema.parse(slug)}.expired`

// Russian first (the customers are Russian laboratories, as the letters' default language), then English. Written
// only when missing: an operator's own pages stay.
const page = (ru: { title: string; text: string }, en: { title: string; text: string }) =>
  `<!doctype html><html lang="ru"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
  `<title>${ru.title} · ${en.title}</title></head><body><h1>${ru.title}</h1><p>${ru.text}</p>` +
  `<h1 lang="en">${en.title}</h1><p lang="en">${en.text}</p></body></html>\n`

/** The pages as the agent writes them when missing. */
export const DEFAULT_PAGES = {
  [MAINTENANCE_PAGE]: page(
    { title: 'Технические работы', text: 'Система временно недоступна: идёт обслуживание. Зайдите немного позже.' },
    { title: 'Maintenance', text: 'This system is being maintained and will be back shortly.' },
  ),
  [EXPIRED_PAGE]: page(
    { title: 'Срок подписки истёк', text: 'Система больше недоступна. Обратитесь к вашему поставщику.' },
    { title: 'Subscription expired', text: 'This system is no longer available. Please contact your provider.' },
  ),
  [UNAVAILABLE_PAGE]: page(
    {
      title: 'Система недоступна',
      text: 'Система не отвечает: возможно, она перезапускается. Попробуйте через минуту.',
    },
    {
      title: 'Temporarily unavailable',
      text: 'This system is not answering, perhaps restarting. Try again in a minute.',
    },
  ),
}
