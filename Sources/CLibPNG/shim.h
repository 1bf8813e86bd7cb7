// libpng's simplified read API (png_image_*): it keeps its setjmp/longjmp error handling
// inside libpng and reports a failure as a return value and a message, so Swift can call it.
#include <png.h>
