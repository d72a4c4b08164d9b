// Every notebook page's declaration: the embeddable views, the docs' list and the tests read this.
import addition from './addition/page.js';
import cumsum from './cumsum/page.js';
import majority from './majority/page.js';
import min from './min/page.js';
import sorting from './sorting/page.js';
import yours from './yours/page.js';

const PAGES = [cumsum, min, addition, majority, sorting, yours];
export default PAGES;

/** The five notebooks of a task (a pretrained model, a timeline, training): not "Your model". */
export const TASK_PAGES = PAGES.filter((p) => !p.reader);
