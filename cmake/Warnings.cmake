# One warning list, applied to our own targets only (hn_warnings(target)).
set(HN_WARNING_FLAGS
  -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
  -Wmissing-declarations -Wpointer-arith -Wwrite-strings -Wformat=2 -Wundef
  -Wcast-align -Wsign-compare -Wvla -Wno-unused-parameter
  -Werror=implicit-function-declaration -Werror=incompatible-pointer-types)
if(HN_WERROR)
  list(APPEND HN_WARNING_FLAGS -Werror)
endif()

function(hn_warnings target)
  target_compile_options(${target} PRIVATE ${HN_WARNING_FLAGS})
endfunction()
