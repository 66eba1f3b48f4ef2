# The folder dependency rules, checked before anything compiles.
#
# Every quoted #include of every .c and .h in a source folder must name a
# header of the same folder or of a folder (or a single header) that the
# table below allows. Include paths already keep most wrong includes out (a
# library sees only the headers of what it links); this check also covers
# what a link cannot express ("report reads only the snapshot", "only the
# binary uses cluster/ and demo/") and names the rule that was broken.
#
# Two modes:
#   include(CheckLayout) + hn_check_layout(target)   (from CMakeLists.txt)
#       every target so marked builds after the check, which reruns
#       whenever a source file of a checked folder changes;
#   cmake -DROOT=dir [-DSTAMP=file] -P CheckLayout.cmake
#       the check itself (tests/layout runs it on planted mistakes).

# folder or file = what it may include ("include" = the plugin ABI,
# include/hornet/hornet.h). Dependencies point one way, down this list.
set(HN_LAYOUT_RULES
  "base="
  "engine/client=base"
  "engine=base engine/client include"
  "web="
  "report=base web engine/snapshot.h"
  "cluster=base engine include"
  "outputs=base report engine/snapshot.h"
  "demo=base"
  "server=base engine report web"
  "server/plugin_slot.c=base engine report web include"
  "server/main.c=base engine report web outputs cluster demo include")

set(HN_LAYOUT_FOLDERS base engine/client engine web report outputs cluster demo server)

if(NOT CMAKE_SCRIPT_MODE_FILE)
  set(HN_LAYOUT_SCRIPT ${CMAKE_CURRENT_LIST_FILE})
  set(layout_sources "")
  foreach(dir ${HN_LAYOUT_FOLDERS})
    file(GLOB found CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/${dir}/*.c
         ${PROJECT_SOURCE_DIR}/${dir}/*.h)
    list(APPEND layout_sources ${found})
  endforeach()
  set(stamp ${PROJECT_BINARY_DIR}/layout.stamp)
  add_custom_command(
    OUTPUT ${stamp}
    COMMAND ${CMAKE_COMMAND} -DROOT=${PROJECT_SOURCE_DIR} -DSTAMP=${stamp} -P ${HN_LAYOUT_SCRIPT}
    DEPENDS ${layout_sources} ${HN_LAYOUT_SCRIPT}
    COMMENT "Checking the folder dependency rules"
    VERBATIM)
  add_custom_target(hn_layout DEPENDS ${stamp})
  function(hn_check_layout target)
    add_dependencies(${target} hn_layout)
  endfunction()
  return()
endif()

if(NOT ROOT)
  message(FATAL_ERROR "CheckLayout.cmake needs -DROOT=<source dir>")
endif()

# allowed_<key> = list of what key may include.
foreach(rule ${HN_LAYOUT_RULES})
  string(FIND "${rule}" "=" eq)
  string(SUBSTRING "${rule}" 0 ${eq} key)
  math(EXPR from "${eq} + 1")
  string(SUBSTRING "${rule}" ${from} -1 value)
  string(REPLACE " " ";" value "${value}")
  set("allowed_${key}" "${value}")
endforeach()

set(errors "")
foreach(dir ${HN_LAYOUT_FOLDERS})
  file(GLOB files ${ROOT}/${dir}/*.c ${ROOT}/${dir}/*.h)
  foreach(file ${files})
    get_filename_component(fname ${file} NAME)
    if(DEFINED "allowed_${dir}/${fname}")
      set(allowed "${allowed_${dir}/${fname}}")
      set(who "${dir}/${fname}")
    else()
      set(allowed "${allowed_${dir}}")
      set(who "${dir}/")
    endif()
    file(STRINGS ${file} lines REGEX "^[ \t]*#[ \t]*include[ \t]*\"")
    foreach(line ${lines})
      string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*\"([^\"]*)\".*$" "\\1" name "${line}")
      if(EXISTS ${ROOT}/${dir}/${name} AND NOT name MATCHES "/")
        continue()
      endif()
      if(name STREQUAL "hornet/hornet.h")
        set(owner include)
      elseif(name MATCHES "/")
        string(APPEND errors "  ${dir}/${fname}: #include \"${name}\": name a header by its file "
               "name; the build's include paths say where it may come from\n")
        continue()
      else()
        set(owner "")
        foreach(other ${HN_LAYOUT_FOLDERS})
          if(EXISTS ${ROOT}/${other}/${name})
            set(owner ${other})
            break()
          endif()
        endforeach()
        if(owner STREQUAL "")
          continue() # a system or generated header
        endif()
      endif()
      list(FIND allowed "${owner}" ok_folder)
      list(FIND allowed "${owner}/${name}" ok_file)
      if(ok_folder EQUAL -1 AND ok_file EQUAL -1)
        string(REPLACE ";" ", " may "${allowed}")
        if(may STREQUAL "")
          set(may "nothing outside itself")
        endif()
        string(APPEND errors "  ${dir}/${fname}: #include \"${name}\" (${owner}/): "
               "${who} may use ${may}\n")
      endif()
    endforeach()
  endforeach()
endforeach()

if(NOT errors STREQUAL "")
  message(FATAL_ERROR "layout: includes that break the folder dependency rules "
          "(cmake/CheckLayout.cmake):\n${errors}")
endif()
if(STAMP)
  file(WRITE ${STAMP} "ok\n")
endif()
