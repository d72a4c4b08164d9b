// Every notebook page's declaration: the embeddable views, the docs' list and the tests read this.
import addition from './addition/page.js';
import cumsum from './cumsum/page.js';
import majority from './majority/page.js';
import min from './min/page.js';
import sorting from './sorting/page.js';

export default [cumsum, min, addition, majority, sorting];
